/* Leadwerk website tracking. Include on your own website:
 *   <script src="https://<leadwerk>/static/leadwerk/track.js" async></script>
 * It keeps a first-party visitor id (localStorage and a cookie on your domain), reports each
 * page view to Leadwerk, and hands the id to embedded Leadwerk forms, so the visitor's earlier
 * page views join the person when they submit a form.
 * With data-wait-for-consent on the script tag nothing happens until your consent manager
 * calls window.Leadwerk.consent(). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.Leadwerk) return;
  var base = new URL(script.src).origin;
  var KEY = "lw_vid";
  var ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  var started = false;

  function fromCookie() {
    var m = document.cookie.match(/(?:^|;\s*)lw_vid=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function visitorId() {
    var id = null;
    try { id = window.localStorage.getItem(KEY); } catch (e) { /* storage blocked */ }
    if (!id || !ID.test(id)) id = fromCookie();
    if (!id || !ID.test(id)) id = newId();
    try { window.localStorage.setItem(KEY, id); } catch (e) { /* storage blocked */ }
    document.cookie = KEY + "=" + id + "; path=/; max-age=31536000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
    return id;
  }

  function report(id) {
    var body = JSON.stringify({
      v: id,
      u: location.href.slice(0, 2000),
      t: (document.title || "").slice(0, 300),
      r: (document.referrer || "").slice(0, 2000)
    });
    var url = base + "/t/collect";
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    if (window.fetch) {
      fetch(url, { method: "POST", body: body, mode: "no-cors", keepalive: true,
        headers: { "Content-Type": "text/plain" } });
    }
  }

  function joinForms(id) {
    var frames = document.querySelectorAll("iframe[src]");
    Array.prototype.forEach.call(frames, function (frame) {
      var u;
      try { u = new URL(frame.src); } catch (e) { return; }
      if (u.origin !== base || u.pathname.indexOf("/f/") !== 0 || u.searchParams.get("vid")) return;
      u.searchParams.set("vid", id);
      if (!u.searchParams.get("page")) u.searchParams.set("page", location.href.slice(0, 500));
      frame.src = u.toString();
    });
  }

  function start() {
    if (started) return;
    started = true;
    var id = visitorId();
    report(id);
    joinForms(id);
  }

  window.Leadwerk = { consent: start };
  if (script.hasAttribute("data-wait-for-consent")) return;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
