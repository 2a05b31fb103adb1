"""The page in a real browser: Debian's headless Chromium driven by Selenium through Debian's
chromedriver (nothing downloaded). Asks on a sample index, keyboard only: the bold sentence, "not
found", "More" appending in place with the focus moved, and a hostile article title shown as
text. Skips with a reason where Chromium or chromedriver is absent (`.ci/run` installs both)."""
from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

from conftest import SAMPLES, write_articles
from polling import poll

pytest.importorskip("starlette", reason="the [web] extra is not installed")
pytest.importorskip("selenium", reason="selenium (the test extra) is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Debian's chromium and chromium-driver are not "
                                "installed (apt-get install chromium chromium-driver; .ci/run does)")

HOSTILE_TITLE = '<img src=x onerror="document.title=\'pwned\'">Wend ferry back <i>in service</i>'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`citebot serve`'s application on a free loopback port, in a thread; stopped after the module."""
    import uvicorn

    from citebot.bot.answering import make_retriever
    from citebot.bot.settings import load_settings
    from citebot.bot.web.app import create_app
    from citebot.index.building import build
    from citebot.index.config import IndexConfig
    from citebot.index.encoders.factory import load_encoder

    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(SAMPLES, root / "articles")
    write_articles(root / "articles", {"hostile.json": {
        "id": "hostile-1", "title": HOSTILE_TITLE, "source": "Quay Post", "published": "2025-03-10",
        "text": "The Wend ferry carried 412 passengers on its first weekend back in service. "
                "Its new engine was built in Tallinn."}})
    cfg = IndexConfig(index_dir=root / "index")
    build([root / "articles"], cfg, load_encoder(), on_problem=print)
    settings = load_settings(index_dir=cfg.index_dir, web_rate_per_minute=0)
    app = create_app(settings, make_retriever(settings))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):  # bounded: 20 s at most
        if srv.started:
            break
        time.sleep(0.1)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(condition, seconds: float = 30):
    return poll(condition, seconds, "the page in the browser", every=0.1)


def ask_by_keyboard(browser, server, question: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server + "/")
    box = browser.switch_to.active_element  # the question box has the focus on arrival
    assert box.get_attribute("id") == "q"
    box.send_keys(question + Keys.ENTER)
    wait_for(lambda: browser.find_elements(By.ID, "answers-head"))


def test_answer_with_the_bold_sentence(browser, server):
    import httpx
    from selenium.webdriver.common.by import By

    question = "Why was the Wend bridge closed?"
    ask_by_keyboard(browser, server, question)
    api = httpx.get(server + "/api/ask", params={"q": question}).json()
    bold = browser.find_elements(By.CSS_SELECTOR, "#results strong.answer")
    assert bold and " ".join(bold[0].text.split()) == " ".join(api["results"][0]["highlight"].split())
    assert browser.switch_to.active_element.get_attribute("id") == "answers-head"  # the focus moved to the answer
    link = browser.find_element(By.CSS_SELECTOR, "#results .cite a")
    assert link.text == api["results"][0]["title"]


def test_not_found_is_said_plainly(browser, server):
    from selenium.webdriver.common.by import By

    ask_by_keyboard(browser, server, "What is the boiling point of liquid nitrogen?")
    assert browser.find_element(By.CSS_SELECTOR, ".not-found").text.startswith("Not found")
    assert not browser.find_elements(By.CSS_SELECTOR, "#results li")


def test_more_by_keyboard_appends_in_place(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server + "/?q=What+happened+in+Wendford%3F&k=1")
    wait_for(lambda: browser.find_elements(By.ID, "answers-head"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#results > li")) == 1
    for _ in range(40):  # Tab through the page to the More button (bounded)
        active = browser.switch_to.active_element
        if active.tag_name == "button" and active.find_elements(By.XPATH, "ancestor::form[@id='more']"):
            break
        active.send_keys(Keys.TAB)
    else:
        raise AssertionError("More cannot be reached with the Tab key")
    url = browser.current_url
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#results > li")) == 2)
    assert browser.current_url == url  # appended in place, not a new page
    focused = browser.switch_to.active_element
    assert focused.tag_name == "li" and focused == browser.find_elements(By.CSS_SELECTOR, "#results > li")[1]
    assert browser.find_element(By.ID, "status").text  # announced in the live region


def test_hostile_title_renders_as_text(browser, server):
    from selenium.webdriver.common.by import By

    ask_by_keyboard(browser, server, "How many passengers did the Wend ferry carry?")
    assert browser.title != "pwned"
    assert not browser.find_elements(By.CSS_SELECTOR, "#results img")
    cites = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, "#results .cite"))
    assert "<img src=x onerror=" in cites and "<i>in service</i>" in cites

