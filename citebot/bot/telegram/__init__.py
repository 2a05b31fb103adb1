"""The Telegram front end (`citebot bot`), one module a job, as python-telegram-bot's examples do:

    app.py       the Application: rate limiter, persistence, callback data, handlers; run()
    context.py   typed chat/user/bot data (persisted) and the runtime (never persisted)
    state.py     the state file under CITEBOT_STATE_DIR
    gate.py      the access gate (handler group -1): addressed to the bot, allowlist, rate limit
    handlers.py  questions, answers, More, /sources, errors
    follow.py    /follow, /unfollow, /following
    watch.py     noticing a new index and pushing new matching articles to followers
    inline.py    inline mode (@bot question)
    heartbeat.py the status file for `citebot doctor` (CITEBOT_STATUS_FILE)
    credentials.py  reading the token
"""
from .app import BotStartError, build_application, run  # noqa: F401
from .credentials import TokenError, read_token  # noqa: F401
