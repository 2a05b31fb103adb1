// The page works without this file: it only keeps the reader's place. After an answer loads, the
// focus goes to its heading; "More" appends the next passages in place (the server renders them,
// as for the page itself), announces them and moves the focus to the first new one.
"use strict";
(function () {
  var status = document.getElementById("status");
  function say(text) { if (status) { status.textContent = text; } }

  var head = document.getElementById("answers-head");
  if (head) { head.focus(); }

  var ask = document.getElementById("ask");
  if (ask) { ask.addEventListener("submit", function () { say(status.dataset.searching); }); }

  function wire(form) {
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = "/?" + new URLSearchParams(new FormData(form)).toString();
      say(status.dataset.searching);
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        return response.text().then(function (html) { return { ok: response.ok, html: html }; });
      }).then(function (got) {
        var doc = new DOMParser().parseFromString(got.html, "text/html");
        if (!got.ok) { throw new Error((doc.querySelector(".error") || {}).textContent || "HTTP error"); }
        var list = document.getElementById("results");
        var items = doc.querySelectorAll("#results > li");
        var first = null;
        items.forEach(function (item) {
          var node = document.importNode(item, true);
          list.appendChild(node);
          if (!first) { first = node; }
        });
        var next = doc.getElementById("more");
        if (next) {
          var copy = document.importNode(next, true);
          form.replaceWith(copy);
          wire(copy);
        } else {
          form.remove();
        }
        var none = doc.querySelector(".not-found");
        say(items.length ? status.dataset.loaded.replace("{n}", String(items.length)) : (none ? none.textContent : ""));
        if (first) { first.focus(); }
      }).catch(function (err) {
        say(status.dataset.failed.replace("{error}", err.message));
      });
    });
  }
  wire(document.getElementById("more"));
})();
