/* heatpipe viewer: pick a page, see its heatmap over the live page; list sessions. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var state = { page: null, pages: [] };
  function isoDay(offsetDays) { var d = new Date(Date.now() + offsetDays * 86400000); return d.toISOString().slice(0, 10); }
  $('site').value = params.get('site') || 'demo';
  $('from').value = params.get('from') || isoDay(-6);
  $('to').value = params.get('to') || isoDay(0);
  function api(path, extra) {
    var q = new URLSearchParams(Object.assign({ from: $('from').value, to: $('to').value }, extra || {}));
    return '/api/sites/' + encodeURIComponent($('site').value) + '/' + path + '?' + q.toString();
  }
  function getJson(url) {
    return fetch(url).then(function (r) {
      return r.json().then(function (body) { if (!r.ok) throw new Error(body.error ? body.error.message : r.status); return body; });
    });
  }
  function setStatus(text) { $('status').textContent = text; }
  function li(title, counts, onClick) {
    var item = document.createElement('li');
    var url = document.createElement('div'); url.className = 'url'; url.textContent = title;
    var small = document.createElement('div'); small.className = 'counts'; small.textContent = counts;
    item.appendChild(url); item.appendChild(small);
    item.addEventListener('click', function () {
      Array.prototype.forEach.call(item.parentNode.children, function (el) { el.classList.remove('selected'); });
      item.classList.add('selected');
      onClick();
    });
    return item;
  }
  function loadPages() {
    getJson(api('pages')).then(function (pages) {
      state.pages = pages;
      var list = $('pages'); list.textContent = '';
      if (!pages.length) setStatus('No processed data for this site and range yet.');
      pages.forEach(function (page) {
        var item = li(page.url, page.views + ' views · ' + page.clicks + ' clicks · ' + page.sessions + ' sessions', function () { showPage(page); });
        item.dataset.key = page.key;
        list.appendChild(item);
        if (state.page && state.page.key === page.key) item.classList.add('selected');
      });
      if (!state.page && pages.length) list.firstChild.click();
    }).catch(function (err) { setStatus('Could not load pages: ' + err.message); });
  }
  function overlayUrl() {
    var extra = { page: state.page.key, kind: $('kind').value, device: $('device').value, palette: $('palette').value,
                  radius: $('radius').value, opacity: ($('opacity').value / 100).toFixed(2), width: $('width').value };
    return api('heatmap.png', extra);
  }
  function showPage(page) {
    state.page = page;
    $('cursor').hidden = true;
    var frame = $('page-frame'), overlay = $('overlay');
    var width = parseInt($('width').value, 10) || 1280;
    frame.style.width = width + 'px';
    if (frame.dataset.url !== page.url) { frame.dataset.url = page.url; frame.src = page.url; }
    setStatus('Loading ' + $('kind').value + ' heatmap of ' + page.url + '…');
    var url = overlayUrl();
    overlay.onload = function () {
      frame.style.height = overlay.naturalHeight + 'px';
      overlay.style.width = overlay.naturalWidth + 'px';
      setStatus(page.url + ' — ' + page.views + ' views, ' + page.clicks + ' clicks');
    };
    overlay.onerror = function () { getJson(url).catch(function (err) { setStatus('No heatmap: ' + err.message); }); };
    overlay.src = url;
  }
  function loadSessions() {
    getJson(api('sessions', { limit: 200 })).then(function (sessions) {
      var list = $('sessions'); list.textContent = '';
      sessions.forEach(function (s) {
        var when = new Date(s.started_at).toISOString().replace('T', ' ').slice(0, 19);
        list.appendChild(li(when + ' · ' + s.device, (s.duration_ms / 1000).toFixed(0) + ' s · ' + s.pages.length + ' pages · ' + s.clicks + ' clicks', function () { replay(s); }));
      });
      if (!sessions.length) setStatus('No sessions in this range.');
    }).catch(function (err) { setStatus('Could not load sessions: ' + err.message); });
  }
  var player = null;
  function replay(session) {
    if (player) cancelAnimationFrame(player);
    getJson(api('sessions/' + encodeURIComponent(session.id) + '/timeline', { date: session.date })).then(function (timeline) {
      var frame = $('page-frame'), cursor = $('cursor'), overlay = $('overlay');
      overlay.removeAttribute('src');
      var events = timeline.events, i = 0, start = performance.now(), view = -1;
      function show(pv) {
        var page = timeline.page_views.filter(function (p) { return p.index === pv; })[0];
        if (!page) return;
        frame.style.width = page.viewport[0] + 'px';
        frame.style.height = Math.max(page.document[1], page.viewport[1]) + 'px';
        if (frame.dataset.url !== page.url) { frame.dataset.url = page.url; frame.src = page.url; }
      }
      cursor.hidden = false;
      (function step(now) {
        var t = now - start;
        while (i < events.length && events[i].t <= t) {
          var e = events[i++];
          if (e.page_view !== view) { view = e.page_view; show(view); }
          if (e.kind === 'move' || e.kind === 'click') { cursor.style.left = e.x + 'px'; cursor.style.top = e.y + 'px'; }
          if (e.kind === 'scroll') $('stage').scrollTop = e.y;
          if (e.kind === 'click') { cursor.style.background = '#fa5252'; setTimeout(function () { cursor.style.background = ''; }, 250); }
        }
        setStatus('Replaying ' + timeline.id + ': ' + (t / 1000).toFixed(1) + ' / ' + (timeline.duration_ms / 1000).toFixed(1) + ' s');
        if (i < events.length) player = requestAnimationFrame(step);
      })(start);
    }).catch(function (err) { setStatus('Could not load the timeline: ' + err.message); });
  }
  function tab(showSessions) {
    $('pages').hidden = showSessions; $('sessions').hidden = !showSessions;
    $('tab-pages').classList.toggle('active', !showSessions); $('tab-sessions').classList.toggle('active', showSessions);
    if (showSessions) loadSessions(); else loadPages();
  }
  $('tab-pages').addEventListener('click', function () { tab(false); });
  $('tab-sessions').addEventListener('click', function () { tab(true); });
  ['kind', 'device', 'palette', 'radius', 'opacity', 'width'].forEach(function (id) {
    $(id).addEventListener('change', function () { if (state.page) showPage(state.page); });
  });
  ['site', 'from', 'to'].forEach(function (id) { $(id).addEventListener('change', function () { state.page = null; loadPages(); }); });
  loadPages();
})();
