/* Field work on a weak signal (progressive enhancement: every page works without it).
   - registers the service worker (static/js/sw.js, served at /staff/sw.js);
   - a form marked data-offline that cannot be sent waits on the phone (IndexedDB) and
     is sent when the signal returns; "待上传 N" shows what waits. Each form carries its
     idempotency key, so a repeat changes nothing on the server;
   - photos are made smaller on the phone (longest side 1600 px, about 300 KB) and
     uploaded in chunks that resume from the server's offset;
   - the visit's location, asked for only once the worker ticks the consent box. */
(function () {
  "use strict";
  var me = document.currentScript, DB = "field", STORE = "outbox", CHUNK = 64 * 1024;
  var MAX_SIDE = 1600, MAX_BYTES = 300 * 1024;
  var uploadsUrl = me.dataset.uploads, photos = new WeakMap();

  if ("serviceWorker" in navigator && me.dataset.sw) {
    navigator.serviceWorker.register(me.dataset.sw, { scope: me.dataset.scope }).catch(function () {});
  }

  function db() {
    return new Promise(function (ok, ko) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true }); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { ko(r.error); };
    });
  }
  function tx(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (ok, ko) {
        var t = d.transaction(STORE, mode), out = fn(t.objectStore(STORE));
        t.oncomplete = function () { ok(out && out.result); };
        t.onerror = function () { ko(t.error); };
      });
    });
  }
  function all() { return tx("readonly", function (s) { return s.getAll(); }); }

  function showCount() {
    return all().then(function (items) {
      var box = document.querySelector("[data-outbox]");
      if (!box) return;
      /* One visit is one record waiting, however many of its steps wait. */
      var groups = {};
      items.forEach(function (i) { groups[i.group] = 1; });
      var n = Object.keys(groups).length;
      box.querySelector("[data-outbox-count]").textContent = n;
      box.hidden = n === 0;
    });
  }

  function csrf(fields) {
    for (var i = 0; i < fields.length; i++) if (fields[i][0] === "csrfmiddlewaretoken") return fields[i][1];
    return "";
  }

  /* A chunked upload: create, then PATCH from the server's offset until complete. */
  function upload(blob, token) {
    var headers = { "X-CSRFToken": token };
    return fetch(uploadsUrl, { method: "POST", credentials: "same-origin",
      headers: Object.assign({ "Upload-Length": String(blob.size), "Upload-Name": "photo.jpg" }, headers) })
      .then(function (r) { if (!r.ok) throw new Error("create"); return r.json(); })
      .then(function (u) { return send(uploadsUrl + u.id + "/", blob, u.offset, headers, 0).then(function () { return u.id; }); });
  }
  function send(url, blob, offset, headers, tries) {
    if (offset >= blob.size) return Promise.resolve();
    return fetch(url, { method: "PATCH", credentials: "same-origin", body: blob.slice(offset, offset + CHUNK),
      headers: Object.assign({ "Upload-Offset": String(offset) }, headers) })
      .then(function (r) {
        if (r.ok || r.status === 409) return r.json().then(function (u) { return send(url, blob, u.offset, headers, 0); });
        throw new Error("chunk");
      }, function (e) {
        /* Dropped: ask the server how far it got and go on from there. */
        if (tries > 5) throw e;
        return fetch(url, { credentials: "same-origin", headers: headers })
          .then(function (r) { return r.json(); })
          .then(function (u) { return send(url, blob, u.offset, headers, tries + 1); }, function () { throw e; });
      });
  }

  /* Send one waiting form: its photo first, then the fields. */
  function deliver(item) {
    var fields = item.fields.slice(), token = csrf(fields);
    var first = item.photo ? upload(item.photo, token).then(function (id) { item.uploadId = id; fields.push(["photo_upload", id]); }) : Promise.resolve();
    return first.then(function () {
      var body = new FormData();
      fields.forEach(function (f) { body.append(f[0], f[1]); });
      return fetch(item.url, { method: "POST", body: body, credentials: "same-origin" });
    });
  }

  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    flushing = all().then(function (items) {
      return items.reduce(function (p, item) {
        return p.then(function () {
          return deliver(item).then(function (r) {
            /* Sent (or refused as a whole: a repeat would be refused again). */
            return tx("readwrite", function (s) { return s.delete(item.id); });
          });
        });
      }, Promise.resolve());
    }).catch(function () {}).then(function () { flushing = null; return showCount(); });
    return flushing;
  }
  window.fieldOutbox = { flush: flush, count: function () { return all().then(function (i) { return i.length; }); } };

  function entries(form, submitter) {
    var out = [];
    new FormData(form, submitter).forEach(function (v, k) { if (typeof v === "string") out.push([k, v]); });
    return out;
  }

  /* Photos: downscale on a canvas to at most 1600 px and about 300 KB of JPEG. */
  function shrink(file) {
    return createImageBitmap(file).then(function (img) {
      var scale = Math.min(1, MAX_SIDE / Math.max(img.width, img.height));
      var c = document.createElement("canvas");
      c.width = Math.round(img.width * scale); c.height = Math.round(img.height * scale);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      function encode(q) {
        return new Promise(function (ok) { c.toBlob(ok, "image/jpeg", q); }).then(function (b) {
          return b.size > MAX_BYTES && q > 0.3 ? encode(q - 0.1) : b;
        });
      }
      return encode(0.8);
    });
  }
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches("input[type=file][data-photo]") || !input.files.length) return;
    var pending = shrink(input.files[0]).catch(function () { return null; });
    photos.set(input.form, pending);
  });

  document.addEventListener("submit", function (e) {
    var form = e.target, submitter = e.submitter;
    /* Signing out: the pages kept for offline use (they show people's data) go too;
       forms still waiting stay until they are sent. */
    if (me.dataset.logout && form.getAttribute("action") === me.dataset.logout && window.caches) caches.delete("pages-v1");
    if (!form.matches("form[data-offline]")) return;
    if (submitter && submitter.hasAttribute("data-add-member") && !navigator.onLine) {
      e.preventDefault(); addMember(form); return;
    }
    var photo = photos.get(form);
    if (navigator.onLine && !photo) return; /* an ordinary post */
    e.preventDefault();
    var fields = entries(form, submitter), url = form.action || location.href;
    (photo || Promise.resolve(null)).then(function (blob) {
      var item = { url: url, fields: fields, photo: blob, group: form.dataset.group || url };
      if (!navigator.onLine) {
        /* Never sent: a key of its own, so that a page kept offline and used again
           is a new form, not a repeat of the last one. */
        item.fields.forEach(function (f) { if (f[0] === "form_key" && window.crypto && crypto.randomUUID) f[1] = crypto.randomUUID(); });
        return queue(item, form);
      }
      return deliver(item).then(function (r) {
        if (r.redirected) { location.href = r.url; return; }
        /* Refused: post the page the ordinary way to show why, the photo kept. */
        if (item.photo) form.querySelector("[name=photo_upload]").value = item.uploadId;
        var file = form.querySelector("input[type=file]"); if (file) file.value = "";
        photos.delete(form); HTMLFormElement.prototype.submit.call(form);
      }, function () { return queue(item, form); });
    });
  });

  function queue(item, form) {
    return tx("readwrite", function (s) { return s.add(item); }).then(showCount).then(function () {
      var note = document.querySelector("[data-outbox-saved]");
      if (note) note.hidden = false;
      if (form.dataset.next) location.href = form.dataset.next;
    });
  }

  /* Offline, "add a member" copies the last block, emptied. */
  function addMember(form) {
    var total = form.querySelector("[name$=TOTAL_FORMS]"), blocks = form.querySelectorAll("fieldset.member");
    var last = blocks[blocks.length - 1], n = Number(total.value), copy = last.cloneNode(true);
    copy.querySelectorAll("input,select,textarea").forEach(function (el) {
      el.name = el.name.replace(/-\d+-/, "-" + n + "-"); el.id = el.id.replace(/-\d+-/, "-" + n + "-");
      if (el.type === "checkbox") el.checked = false; else if (el.tagName !== "SELECT") el.value = ""; else el.selectedIndex = 0;
    });
    copy.querySelectorAll("label[for]").forEach(function (l) { l.htmlFor = l.htmlFor.replace(/-\d+-/, "-" + n + "-"); });
    copy.querySelectorAll(".error,.small").forEach(function (p) { p.remove(); });
    var legend = copy.querySelector("legend");
    if (legend) legend.textContent = legend.textContent.replace(/\d+/, String(n + 1));
    last.after(copy); total.value = n + 1;
  }

  /* The visit's steps, kept on the phone while the signal lasts. */
  var steps = document.querySelector("form[data-prefetch]");
  if (steps && navigator.onLine && window.caches) {
    var css = document.querySelector("link[rel=stylesheet]");
    caches.open("static-v1").then(function (c) { return c.addAll([me.src].concat(css ? [css.href] : [])); }).catch(function () {});
    caches.open("pages-v1").then(function (c) {
      steps.dataset.prefetch.split(" ").forEach(function (u) {
        if (!u || u === location.pathname) return;
        fetch(u, { credentials: "same-origin" }).then(function (r) { if (r.ok && !r.redirected) return c.put(u, r); }).catch(function () {});
      });
    });
  }

  /* Location, only with consent. */
  var consent = document.querySelector("input[name=share_location]");
  if (consent) consent.addEventListener("change", function () {
    var out = consent.form.querySelector("input[name=location]"), status = document.querySelector("[data-location-status]");
    out.value = "";
    if (!consent.checked || !navigator.geolocation) return;
    status.textContent = status.dataset.asking || "";
    navigator.geolocation.getCurrentPosition(function (p) {
      out.value = [p.coords.latitude.toFixed(6), p.coords.longitude.toFixed(6), Math.round(p.coords.accuracy)].join(",");
      status.textContent = status.dataset.done || "";
    }, function () { status.textContent = status.dataset.failed || ""; }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  });

  window.addEventListener("online", flush);
  if (navigator.onLine) flush(); else showCount();
})();
