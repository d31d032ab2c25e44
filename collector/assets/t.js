/* heatpipe tracker: pointer, click, scroll and resize streams; no cookies, no text, no inputs.
   Pages that record DOM replay load /t-replay.js besides (see startReplay). */
(function (w, d) {
  'use strict';
  var script = d.currentScript;
  // The viewer previews pages in a frame named heatpipe-preview: never record those.
  if (!script || w.__heatpipe || w.name === 'heatpipe-preview') return;
  w.__heatpipe = true;
  var nav = w.navigator;
  if (nav.doNotTrack === '1' || nav.globalPrivacyControl === true) return;
  var site = script.getAttribute('data-site');
  // The collector writes here its sites' replay settings: {site: {replay, public, media}}.
  var replaySites = /*heatpipe:replay-sites*/{};
  var endpoint = new URL('/v1/collect', script.src).href;
  var sampleRate = parseFloat(script.getAttribute('data-sample') || '1');
  var MOVE_MS = 50, SCROLL_MS = 100, FLUSH_MS = 5000, MAX_EVENTS = 500;
  var store = w.sessionStorage;
  function get(key) { try { return store.getItem('heatpipe.' + key); } catch (e) { return null; } }
  function set(key, value) { try { store.setItem('heatpipe.' + key, String(value)); } catch (e) {} }
  // New or returning visitor: one flag in localStorage, written only once data is sent.
  function seen() { try { return w.localStorage.getItem('heatpipe.seen') === '1'; } catch (e) { return false; } }
  var sid = get('sid');
  if (!sid) {
    set('visitor', seen() ? 'returning' : 'new');
    var bytes = new Uint8Array(12);
    w.crypto.getRandomValues(bytes);
    sid = Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(36)).slice(-2); }).join('');
    set('sid', sid);
    set('sampled', Math.random() < sampleRate ? '1' : '0');
  }
  if (get('sampled') === '0') return;
  var pageView = parseInt(get('pv') || '-1', 10) + 1;
  set('pv', pageView);
  var t0 = performance.now();
  var startedAt = Date.now();
  var consent = script.getAttribute('data-consent') !== 'required';
  var tags = { visitor: get('visitor') || 'new' };
  // The site's own id of a known visitor, for the rest of the tab's session; the collector
  // stores only a keyed hash of it.
  var identity = get('identify');
  var moves = [], clicks = [], scrolls = [], resizes = [];
  var lastMove = -MOVE_MS, lastScroll = -SCROLL_MS, pendingMove = null, scrollTimer = null;
  var retryQueue = [], retryDelay = 1000;

  function now() { return Math.round(performance.now() - t0); }
  function size() {
    var el = d.documentElement;
    return [Math.max(el.scrollWidth, d.body ? d.body.scrollWidth : 0), Math.max(el.scrollHeight, d.body ? d.body.scrollHeight : 0)];
  }
  function selector(el) {
    var parts = [];
    for (var depth = 0; el && el.nodeType === 1 && depth < 5; depth++) {
      if (el.id) { parts.unshift('#' + CSS.escape(el.id)); break; }
      var part = el.tagName.toLowerCase(), sibling = el, n = 1;
      while ((sibling = sibling.previousElementSibling)) if (sibling.tagName === el.tagName) n++;
      if (n > 1 || (el.nextElementSibling && el.parentElement && el.parentElement.querySelectorAll(':scope > ' + part).length > 1)) part += ':nth-of-type(' + n + ')';
      parts.unshift(part);
      el = el.parentElement;
    }
    return parts.join(' > ');
  }
  function count() { return moves.length + clicks.length + scrolls.length + resizes.length; }
  function batch() {
    var seq = parseInt(get('seq') || '0', 10);
    set('seq', seq + 1);
    return JSON.stringify({
      site: site, session: sid, seq: seq, page_view: pageView,
      page: { url: location.href, viewport: [w.innerWidth, w.innerHeight], document: size(), started_at: startedAt, tags: tags, identify: identity || undefined },
      moves: moves.splice(0), clicks: clicks.splice(0), scrolls: scrolls.splice(0), resizes: resizes.splice(0)
    });
  }
  function send(body, leaving) {
    if (leaving && nav.sendBeacon && nav.sendBeacon(endpoint, new Blob([body], { type: 'text/plain' }))) return;
    fetch(endpoint, { method: 'POST', body: body, keepalive: body.length < 60000, headers: { 'Content-Type': 'text/plain' } })
      .then(function (r) { if (r.status >= 500 || r.status === 429) throw new Error(r.status); retryDelay = 1000; })
      .catch(function () {
        if (retryQueue.length < 20) retryQueue.push(body);
        setTimeout(function () { var next = retryQueue.shift(); if (next) send(next, false); }, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      });
  }
  var sentFirst = false;
  function flush(leaving) {
    if (!consent) return;
    if (pendingMove) { moves.push(pendingMove); pendingMove = null; }
    if (count() === 0 && sentFirst) return;
    if (!sentFirst) try { w.localStorage.setItem('heatpipe.seen', '1'); } catch (e) {}
    sentFirst = true;
    send(batch(), leaving);
  }
  function record(list, event) { list.push(event); if (count() >= MAX_EVENTS) flush(false); }

  /* What the page did in the second after a click, appended to it: "url" when the address
     changed or the page was left, "dom" when the document changed (a MutationObserver counts
     changes; nothing of them is kept), else "none". The click is recorded once that is known. */
  var REACTION_MS = 1000, mutations = 0, observer = null, watched = [];
  function watchReaction(event) {
    if (!w.MutationObserver) { record(clicks, event); return; }
    if (!observer) observer = new MutationObserver(function (changes) { mutations += changes.length; });
    if (!watched.length) observer.observe(d.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
    var click = { event: event, mutations: mutations, href: location.href };
    click.timer = setTimeout(function () { settleReaction(click, false); }, REACTION_MS);
    watched.push(click);
  }
  function settleReaction(click, leaving) {
    var at = watched.indexOf(click);
    if (at < 0) return;
    watched.splice(at, 1);
    clearTimeout(click.timer);
    if (observer) mutations += observer.takeRecords().length;
    if (!watched.length && observer) observer.disconnect();
    if (click.event.length === 4) click.event.push(null, null);
    click.event.push(leaving || location.href !== click.href ? 'url' : mutations > click.mutations ? 'dom' : 'none');
    record(clicks, click.event);
  }
  function settleReactions() { watched.slice().forEach(function (click) { settleReaction(click, true); }); }

  d.addEventListener('mousemove', function (e) {
    var t = now(), point = [t, Math.round(e.pageX), Math.round(e.pageY)];
    if (t - lastMove >= MOVE_MS) { lastMove = t; pendingMove = null; record(moves, point); } else { pendingMove = point; }
  }, { passive: true, capture: true });
  d.addEventListener('click', function (e) {
    var target = e.target && e.target.nodeType === 1 ? e.target : e.target && e.target.parentElement;
    var event = [now(), Math.round(e.pageX), Math.round(e.pageY), target ? selector(target) : ''];
    if (target) {
      var r = target.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) {
        event.push(Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height)));
      }
    }
    watchReaction(event);
  }, { passive: true, capture: true });
  w.addEventListener('scroll', function () {
    var t = now();
    function take() { clearTimeout(scrollTimer); scrollTimer = null; lastScroll = now(); record(scrolls, [lastScroll, Math.round(w.scrollY)]); }
    if (t - lastScroll >= SCROLL_MS) take(); else if (!scrollTimer) scrollTimer = setTimeout(take, SCROLL_MS);
  }, { passive: true });
  w.addEventListener('resize', function () { record(resizes, [now(), w.innerWidth, w.innerHeight]); }, { passive: true });
  w.addEventListener('pagehide', function () { settleReactions(); flush(true); });
  d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') flush(true); });
  setInterval(function () { flush(false); }, FLUSH_MS);

  /* DOM replay: the site's setting at the collector wins, else the tag's data-replay="dom". The
     recorder is loaded only then, once there is consent, and finds on window.__heatpipeReplay
     what it needs; sites without replay load nothing more. */
  var replaySettings = Object.prototype.hasOwnProperty.call(replaySites, site) ? replaySites[site] : {};
  var replayMode = replaySettings.replay || script.getAttribute('data-replay');
  var replay = null;
  function startReplay() {
    if (replay || replayMode !== 'dom' || !consent) return;
    replay = w.__heatpipeReplay = {
      site: site, sid: sid, pageView: pageView, collector: new URL(script.src).origin, consent: true,
      public: replaySettings.public || [], media: replaySettings.media || []
    };
    var tag = d.createElement('script');
    tag.async = true;
    tag.src = replay.collector + '/t-replay.js';
    (d.head || d.documentElement).appendChild(tag);
  }

  var api = function (command, a, b) {
    if (command === 'tag' && typeof a === 'string') tags[a] = String(b);
    else if (command === 'consent') {
      consent = a !== false;
      if (replay) replay.consent = consent;
      if (consent) { flush(false); startReplay(); } else if (replay && replay.stop) replay.stop();
    }
    else if (command === 'flush') flush(false);
    else if (command === 'identify' && (typeof a === 'string' || typeof a === 'number') && String(a)) { identity = String(a); set('identify', identity); }
  };
  var queued = (w.heatpipe && w.heatpipe.q) || [];
  w.heatpipe = api;
  for (var i = 0; i < queued.length; i++) api.apply(null, queued[i]);
  startReplay();
  setTimeout(function () { flush(false); }, 1000);
})(window, document);
