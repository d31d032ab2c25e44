/* heatpipe replay sender, appended to rrweb's recorder in /t-replay.js and loaded by t.js, which
   sets window.__heatpipeReplay. Private by default: every text is masked to the same length
   except inside the site's public selectors, shown attributes (title, alt, placeholder…) too,
   every input (whose events are not sent at all), and images, video, canvas and frames are same-size placeholders unless the site
   opted them in. Batches go to /v1/rrweb/{site}/{session}?pointers=0: t.js sends the pointers. */
(function (w, d) {
  'use strict';
  var cfg = w.__heatpipeReplay, record = w.heatpipeRrwebRecord;
  if (!cfg || cfg.started || !cfg.consent || typeof record !== 'function') return;
  cfg.started = true;
  var FLUSH_MS = 5000, MAX_EVENTS = 100;
  var MEDIA = ['img', 'video', 'canvas', 'iframe', 'embed', 'object', 'picture'];
  // What the collector stores (docs/privacy.md): other events (inputs, selections, canvas, fonts,
  // logs, plugins) are not even sent.
  var KEPT_TYPES = [0, 1, 2, 3, 4, 5], KEPT_SOURCES = [0, 1, 2, 3, 4, 6, 7, 8, 12, 13, 15];
  var SHOWN_ATTRIBUTES = ['title', 'alt', 'placeholder', 'value', 'label', 'summary', 'aria-label', 'aria-description', 'aria-placeholder', 'aria-roledescription', 'aria-valuetext'];
  var endpoint = cfg.collector + '/v1/rrweb/' + encodeURIComponent(cfg.site) + '/' + encodeURIComponent(cfg.sid) + '?pointers=0';
  var nav = w.navigator;

  // Selectors this browser cannot parse are left out: rrweb would throw on them.
  function valid(list) {
    return (list || []).filter(function (s) {
      try { return typeof s === 'string' && s !== '' && (d.createDocumentFragment().querySelector(s), true); } catch (e) { return false; }
    });
  }
  var publicSelector = valid(cfg.public).join(', ');
  var media = valid(cfg.media).join(', ');
  var block = MEDIA.map(function (tag) { return media ? tag + ':not(' + media + ')' : tag; }).join(', ');
  if (!valid([block]).length) block = MEDIA.join(', ');
  function mask(text) { return text.replace(/\S/g, '*'); }
  function shown(el) { return !!(publicSelector && el && el.nodeType === 1 && el.closest(publicSelector)); }

  // rrweb masks text and inputs, not attributes: the ones a page shows are masked here.
  function maskAttributes(id, attributes) {
    if (!attributes || shown(record.mirror && record.mirror.getNode(id))) return;
    SHOWN_ATTRIBUTES.forEach(function (name) { if (typeof attributes[name] === 'string') attributes[name] = mask(attributes[name]); });
  }
  function maskNode(node) {
    if (node.type === 2) maskAttributes(node.id, node.attributes);
    (node.childNodes || []).forEach(maskNode);
  }
  function scrub(event) {
    if (event.type === 2) maskNode(event.data.node);
    else if (event.type === 3 && event.data.source === 0) {
      (event.data.adds || []).forEach(function (add) { maskNode(add.node); });
      (event.data.attributes || []).forEach(function (change) { maskAttributes(change.id, change.attributes); });
    }
  }

  var queue = [], retryQueue = [], retryDelay = 1000;
  function send(body, leaving) {
    if (leaving && nav.sendBeacon && nav.sendBeacon(endpoint, body)) return;
    fetch(endpoint, { method: 'POST', body: body, keepalive: body.length < 60000, headers: { 'Content-Type': 'text/plain' } })
      .then(function (r) { if (r.status >= 500 || r.status === 429) throw new Error(r.status); retryDelay = 1000; })
      .catch(function () {
        if (retryQueue.length < 20) retryQueue.push(body);
        setTimeout(function () { var next = retryQueue.shift(); if (next) send(next, false); }, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      });
  }
  function flush(leaving) {
    if (!cfg.consent) queue = [];
    else if (queue.length) send(JSON.stringify(queue.splice(0)), leaving);
  }

  // The page view t.js counts, so the server ties this recording to its pointer streams. rrweb
  // takes custom events only once it records, which waits for the document to be parsed.
  var tagged = false;
  function tagPageView() {
    if (tagged) return;
    try { record.addCustomEvent('heatpipe/page-view', { page_view: cfg.pageView }); tagged = true; } catch (e) {}
  }
  var stop = record({
    emit: function (event) {
      if (KEPT_TYPES.indexOf(event.type) < 0 || (event.type === 3 && KEPT_SOURCES.indexOf(event.data.source) < 0)) return;
      scrub(event);
      queue.push(event);
      if (event.type === 2 && !tagged) setTimeout(tagPageView, 0);
      if (queue.length >= MAX_EVENTS) flush(false);
    },
    maskAllInputs: true,
    maskInputFn: function (text) { return '*'.repeat(text.length); },
    maskTextSelector: '*',
    maskTextFn: function (text, el) { return shown(el) ? text : mask(text); },
    blockSelector: block,
    inlineStylesheet: true,
    inlineImages: false,
    recordCanvas: false,
    collectFonts: false,
    slimDOMOptions: 'all',
    sampling: { mousemove: 50, scroll: 150, media: 800, input: 'last' }
  });
  tagPageView();
  // Consent withdrawn: t.js stops the recording; nothing more is sent.
  cfg.stop = function () { if (stop) stop(); stop = null; queue = []; };
  w.addEventListener('pagehide', function () { flush(true); });
  d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') flush(true); });
  setInterval(function () { flush(false); }, FLUSH_MS);
})(window, document);
