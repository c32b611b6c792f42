// Progressive enhancement of the hosted checkout page: copy buttons, a live countdown and a status
// poll that follows the intent to its end (redirect to the merchant, or reload to the final page).
// Everything here is optional: without JavaScript the page still shows the same facts and the
// claim form posts normally.
(function () {
  "use strict";
  var root = document.getElementById("checkout");
  if (!root) { return; }
  var bn = root.getAttribute("data-lang") === "bn";
  var bnDigits = "০১২৩৪৫৬৭৮৯";
  function local(s) {
    return bn ? String(s).replace(/[0-9]/g, function (d) { return bnDigits.charAt(+d); }) : String(s);
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(sec) {
    var h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    return local(h > 0 ? h + ":" + two(m) + ":" + two(s) : two(m) + ":" + two(s));
  }

  // Copy buttons are hidden without JavaScript; the number stays selectable text.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (b) {
    var label = b.textContent;
    b.hidden = false;
    b.addEventListener("click", function () {
      var text = b.getAttribute("data-copy");
      function done() {
        b.textContent = b.getAttribute("data-copied") || label;
        setTimeout(function () { b.textContent = label; }, 2000);
      }
      function fallback() {
        var t = document.createElement("textarea");
        t.value = text;
        t.setAttribute("readonly", "");
        t.style.position = "fixed";
        t.style.opacity = "0";
        document.body.appendChild(t);
        t.select();
        try { if (document.execCommand("copy")) { done(); } } catch (e) { /* the number stays selectable */ }
        document.body.removeChild(t);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  });

  // One submission at a time: a double tap would only send the same claim twice.
  var form = document.getElementById("claim-form");
  if (form) {
    form.addEventListener("submit", function () {
      var btn = document.getElementById("claim-submit");
      if (btn) { setTimeout(function () { btn.disabled = true; }, 0); }
    });
  }

  // Live status: poll, and leave the page as soon as the intent's status changes.
  var statusURL = root.getAttribute("data-status-url");
  var shown = root.getAttribute("data-status");
  var delay = 3000, timer = null, inflight = false;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, document.hidden ? 15000 : delay);
  }
  function poll() {
    clearTimeout(timer);
    if (inflight || !statusURL || !window.fetch) { return; }
    inflight = true;
    fetch(statusURL, { cache: "no-store", credentials: "omit", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("status " + r.status); }
        return r.json();
      })
      .then(function (s) {
        inflight = false;
        delay = 3000;
        if (s.status && s.status !== shown) {
          if (typeof s.redirectUrl === "string" && /^https?:\/\//i.test(s.redirectUrl)) {
            window.location.replace(s.redirectUrl);
          } else {
            window.location.reload();
          }
          return;
        }
        schedule();
      }, function () {
        inflight = false;
        delay = Math.min(delay * 2, 30000);
        schedule();
      });
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });

  // Countdown from the server's remaining seconds, measured from page load (immune to a wrong
  // phone clock).
  var cd = document.getElementById("countdown");
  var box = document.getElementById("timer");
  var start = Date.now();
  var remaining = parseInt(root.getAttribute("data-remaining"), 10);
  function tick() {
    if (!cd || isNaN(remaining)) { return; }
    var left = Math.max(0, remaining - Math.floor((Date.now() - start) / 1000));
    if (left > 0) {
      cd.textContent = clock(left);
      setTimeout(tick, 1000 - ((Date.now() - start) % 1000));
      return;
    }
    cd.textContent = cd.getAttribute("data-up") || clock(0);
    if (box && box.className.indexOf(" up") < 0) { box.className += " up"; }
    poll();
  }
  tick();
  schedule();
}());
