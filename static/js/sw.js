/* The staff pages on a weak signal: pages network-first with the last copy as the
   fallback (the worklist, case pages and their forms, once loaded); static files
   cache-first. Nothing but GET requests of this site is touched. */
"use strict";
var PAGES = "pages-v1", STATIC = "static-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });

function keep(cache, request, response) {
  if (response.ok && !response.redirected && response.type === "basic") {
    var copy = response.clone();
    caches.open(cache).then(function (c) { c.put(request, copy); });
  }
  return response;
}

self.addEventListener("fetch", function (e) {
  var r = e.request, url = new URL(r.url);
  if (r.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    e.respondWith(caches.match(r).then(function (hit) {
      return hit || fetch(r).then(function (res) { return keep(STATIC, r, res); });
    }));
    return;
  }
  var page = /^\/staff\/(d\/[^/]+\/([a-z]+\/([a-z]+\/)?)?)?$/.test(url.pathname);
  if (r.mode !== "navigate" || !page) return;
  e.respondWith(fetch(r).then(function (res) { return keep(PAGES, r, res); }, function (err) {
    return caches.match(r, { ignoreVary: true, ignoreSearch: true }).then(function (hit) {
      /* The visit form's address redirects to a step: offline, its first step. */
      if (!hit && /\/visit\/$/.test(url.pathname)) return caches.match(url.pathname + "date/", { ignoreVary: true });
      return hit;
    }).then(function (hit) {
      if (hit) return hit;
      throw err;
    });
  }));
});
