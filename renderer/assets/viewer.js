/* heatpipe viewer: pages and their heatmaps over the live page or its screenshot, segment
   comparisons, the most clicked elements, and the session list (the replay is in player.js). */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var state = { page: null, pages: [], tab: 'pages' };
  var hp = window.heatpipe = { state: state, $: $ };

  function isoDay(offsetDays) { return new Date(Date.now() + offsetDays * 86400000).toISOString().slice(0, 10); }
  $('site').value = params.get('site') || 'demo';
  $('from').value = params.get('from') || isoDay(-6);
  $('to').value = params.get('to') || isoDay(0);
  $('compare-from').value = isoDay(-13);
  $('compare-to').value = isoDay(-7);

  hp.api = function (path, extra) {
    var base = { from: $('from').value, to: $('to').value };
    var device = $('device').value;
    if (device !== 'all') base.device = device;
    var query = Object.assign(base, extra || {});
    Object.keys(query).forEach(function (k) { if (query[k] === '' || query[k] == null) delete query[k]; });
    return '/api/sites/' + encodeURIComponent($('site').value) + '/' + path + '?' + new URLSearchParams(query).toString();
  };
  hp.getJson = function (url) {
    return fetch(url).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + r.status);
        return body;
      });
    });
  };
  hp.setStatus = function (text) { $('status').textContent = text; };
  hp.item = function (title, detail, onClick) {
    var item = document.createElement('li');
    var head = document.createElement('div'); head.className = 'title'; head.textContent = title;
    var small = document.createElement('div'); small.className = 'detail'; small.textContent = detail;
    item.appendChild(head); item.appendChild(small);
    item.addEventListener('click', function () {
      Array.prototype.forEach.call(item.parentNode.children, function (el) { el.classList.remove('selected'); });
      item.classList.add('selected');
      onClick();
    });
    return item;
  };

  function loadPages() {
    return hp.getJson(hp.api('pages')).then(function (pages) {
      state.pages = pages;
      var list = $('pages'); list.textContent = '';
      var filter = $('f-page'); filter.length = 1;
      if (!pages.length) hp.setStatus('No processed data for this site and range yet.');
      pages.forEach(function (page) {
        var item = hp.item(page.url, page.views + ' views · ' + page.clicks + ' clicks · ' + page.sessions + ' sessions', function () { showPage(page); });
        item.dataset.key = page.key;
        list.appendChild(item);
        if (state.page && state.page.key === page.key) item.classList.add('selected');
        filter.add(new Option(page.url, page.key));
      });
      if (state.tab === 'pages' && !state.page && pages.length) list.firstChild.click();
    }).catch(function (err) { hp.setStatus('Could not load pages: ' + err.message); });
  }

  function heatmapQuery(page) {
    var query = { page: page.key, kind: $('kind').value, palette: $('palette').value, radius: $('radius').value,
                  opacity: ($('opacity').value / 100).toFixed(2), width: $('width').value, segment: $('segment').value.trim() };
    var mode = $('compare-mode').value;
    if (mode === 'segments') query.compare = $('compare-a').value.trim() + ',' + $('compare-b').value.trim();
    if (mode === 'range') { query.compare_from = $('compare-from').value; query.compare_to = $('compare-to').value; }
    if ($('background').value === 'snapshot') query.composite = '1';
    return query;
  }

  function legend() {
    var mode = $('compare-mode').value, text = '';
    if (mode === 'segments') text = 'Red: more per page view in ' + $('compare-a').value + ' · blue: more in ' + $('compare-b').value + ' · clear: no difference.';
    if (mode === 'range') text = 'Red: more per page view in ' + $('from').value + '–' + $('to').value + ' · blue: more in ' + $('compare-from').value + '–' + $('compare-to').value + '.';
    $('legend').textContent = text; $('legend').hidden = !text;
  }

  function showPage(page) {
    state.page = page;
    hp.stopReplay && hp.stopReplay();
    var frame = $('page-frame'), overlay = $('overlay'), snapshot = $('snapshot');
    var width = parseInt($('width').value, 10) || 1280;
    var composite = $('background').value === 'snapshot';
    $('canvas').style.transform = '';
    frame.hidden = composite; snapshot.hidden = !composite; overlay.hidden = composite;
    frame.style.width = width + 'px';
    if (!composite && frame.dataset.url !== page.url) { frame.dataset.url = page.url; frame.src = page.url; }
    legend();
    hp.setStatus('Loading the ' + $('kind').value + ' map of ' + page.url + '…');
    var url = hp.api('heatmap.png', heatmapQuery(page));
    var target = composite ? snapshot : overlay;
    target.onload = function () {
      frame.style.height = target.naturalHeight + 'px';
      target.style.width = target.naturalWidth + 'px';
      $('canvas').dataset.ready = url;
      hp.setStatus(page.url + ' — ' + page.views + ' views, ' + page.clicks + ' clicks, ' + page.sessions + ' sessions');
      if ($('kind').value === 'scroll') describeScroll(page);
    };
    target.onerror = function () { hp.getJson(url).catch(function (err) { hp.setStatus('No map: ' + err.message); }); };
    target.src = url;
    loadElements(page);
  }

  function describeScroll(page) {
    hp.getJson(hp.api('scroll-depth', { page: page.key, segment: $('segment').value.trim() })).then(function (depth) {
      var half = depth.reached_percent[50], bottom = depth.reached_percent[100];
      hp.setStatus(page.url + ' — average fold at ' + depth.average_fold_px + ' px; ' +
        (half ? Math.round(half.share * 100) : 0) + '% of views reached half the page, ' + (bottom ? Math.round(bottom.share * 100) : 0) + '% the end.');
    }).catch(function () {});
  }

  function highlight(selector, on) {
    try {
      var doc = $('page-frame').contentDocument, el = doc && doc.querySelector(selector);
      if (el) el.style.outline = on ? '3px solid #e8590c' : '';
    } catch (e) { /* a page on another origin cannot be reached */ }
  }

  function loadElements(page) {
    var body = $('elements').tBodies[0];
    body.textContent = '';
    hp.getJson(hp.api('elements', { page: page.key, segment: $('segment').value.trim(), limit: 15 })).then(function (rows) {
      rows.forEach(function (row) {
        var tr = body.insertRow();
        [row.selector, row.clicks + ' (' + Math.round(row.share * 100) + '%)', row.rage_clicks, row.dead_clicks].forEach(function (text) {
          tr.insertCell().textContent = text;
        });
        tr.addEventListener('mouseenter', function () { highlight(row.selector, true); });
        tr.addEventListener('mouseleave', function () { highlight(row.selector, false); });
      });
    }).catch(function () {});
  }

  function loadSessions() {
    var query = { limit: 200, page: $('f-page').value, frustration: $('f-frustration').value, tag: $('f-tag').value.trim(),
                  min_duration: $('f-min').value, max_duration: $('f-max').value };
    return hp.getJson(hp.api('sessions', query)).then(function (sessions) {
      var list = $('sessions'); list.textContent = '';
      sessions.forEach(function (s) {
        var when = new Date(s.started_at).toISOString().replace('T', ' ').slice(0, 19);
        var signals = Object.keys(s.frustration).filter(function (k) { return s.frustration[k] > 0; })
          .map(function (k) { return k.replace(/_/g, ' ') + ' ' + s.frustration[k]; });
        var detail = (s.duration_ms / 1000).toFixed(0) + ' s · ' + s.pages.length + ' pages · ' + s.clicks + ' clicks' + (signals.length ? ' · ' + signals.join(', ') : '');
        var item = hp.item(when + ' · ' + s.device, detail, function () { hp.replay(s); });
        item.dataset.session = s.id;
        if (signals.length) item.classList.add('frustrated');
        list.appendChild(item);
      });
      hp.setStatus(sessions.length ? sessions.length + ' sessions. Pick one to replay.' : 'No sessions match.');
    }).catch(function (err) { hp.setStatus('Could not load sessions: ' + err.message); });
  }

  function tab(name) {
    state.tab = name;
    var sessions = name === 'sessions';
    $('pages-panel').hidden = sessions; $('sessions-panel').hidden = !sessions;
    $('heatmap-controls').hidden = sessions; $('player-controls').hidden = !sessions;
    $('tab-pages').classList.toggle('active', !sessions); $('tab-sessions').classList.toggle('active', sessions);
    $('legend').hidden = true;
    if (sessions) { hp.stopReplay && hp.stopReplay(); $('overlay').removeAttribute('src'); loadSessions(); }
    else { hp.stopReplay && hp.stopReplay(); if (state.page) showPage(state.page); else loadPages(); }
  }

  $('tab-pages').addEventListener('click', function () { tab('pages'); });
  $('tab-sessions').addEventListener('click', function () { tab('sessions'); });
  $('compare-mode').addEventListener('change', function () {
    $('compare-segments').hidden = $('compare-mode').value !== 'segments';
    $('compare-range').hidden = $('compare-mode').value !== 'range';
  });
  ['kind', 'palette', 'radius', 'opacity', 'width', 'segment', 'compare-mode', 'compare-a', 'compare-b', 'compare-from', 'compare-to', 'background'].forEach(function (id) {
    $(id).addEventListener('change', function () { if (state.page && state.tab === 'pages') showPage(state.page); });
  });
  ['site', 'from', 'to', 'device'].forEach(function (id) {
    $(id).addEventListener('change', function () {
      if (id === 'site') state.page = null;
      loadPages().then(function () { if (state.tab === 'sessions') loadSessions(); else if (state.page) showPage(state.page); });
    });
  });
  Array.prototype.forEach.call($('session-filters').elements, function (el) { el.addEventListener('change', loadSessions); });
  $('session-filters').addEventListener('submit', function (e) { e.preventDefault(); loadSessions(); });
  hp.loadSessions = loadSessions;
  loadPages();
})();
