// Ferry UI: live updates and search. Pages are rendered on the server; this
// script only swaps parts of them in place: the overview's results while
// typing, and whatever changed when the server says so over server-sent
// events. It never polls.
(function () {
  "use strict";
  var live = document.getElementById("live");

  // refresher fetches url and replaces target's content, one request at a
  // time: a change that arrives while one is in flight runs once after it.
  function refresher(target, urlFn) {
    var busy = false, again = false;
    function run() {
      if (busy) { again = true; return; }
      busy = true;
      fetch(urlFn(), { headers: { "Accept": "text/html" }, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) { target.innerHTML = html; })
        .catch(function () {})
        .then(function () {
          busy = false;
          if (again) { again = false; run(); }
        });
    }
    return run;
  }

  function connect(onChange) {
    var es = new EventSource("/events");
    // A change that landed between rendering the page and opening the
    // stream (or while it was down) has no message of its own: catch up
    // once whenever the stream (re)opens.
    es.addEventListener("hello", function () { live.textContent = "live"; live.className = "live on"; onChange({ many: true }); });
    es.addEventListener("changed", function (e) {
      try { onChange(JSON.parse(e.data)); } catch (err) { onChange({ many: true }); }
    });
    es.onerror = function () { live.textContent = "reconnecting…"; live.className = "live off"; };
  }

  var overview = document.getElementById("overview");
  if (overview) {
    var form = document.getElementById("filters");
    var results = document.getElementById("results");
    var query = function () {
      var p = new URLSearchParams(new FormData(form));
      var page = new URLSearchParams(location.search).get("page");
      if (page) { p.set("page", page); }
      Array.from(p.keys()).forEach(function (k) { if (!p.get(k)) { p.delete(k); } });
      return p.toString();
    };
    var refresh = refresher(results, function () { return "/rows?" + query(); });
    var timer = null;
    var filter = function () {
      var p = new URLSearchParams(query());
      p.delete("page");
      history.replaceState(null, "", p.toString() ? "/?" + p.toString() : "/");
      refresh();
    };
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(filter, 120); });
    form.addEventListener("submit", function (e) { e.preventDefault(); filter(); });
    connect(function () { refresh(); });
  }

  var object = document.getElementById("object");
  if (object) {
    var keys = object.getAttribute("data-keys").split(" ");
    var part = document.getElementById("live-part");
    var reload = refresher(part, function () { return object.getAttribute("data-live") + location.search; });
    connect(function (c) {
      if (c.many || (c.keys || []).some(function (k) { return keys.indexOf(k) >= 0; })) { reload(); }
    });
    // The button lives in the part live updates replace, so the click is
    // handled here, once, for whichever copy of it is on the page.
    object.addEventListener("click", function (e) {
      var btn = e.target.closest("#show-diff");
      if (!btn) { return; }
      var panel = document.getElementById("diff-panel"), out = document.getElementById("diff");
      panel.hidden = false;
      out.innerHTML = '<p class="note">Building and dry-running against the cluster…</p>';
      refresher(out, function () { return btn.getAttribute("data-diff"); })();
    });
  }
})();
