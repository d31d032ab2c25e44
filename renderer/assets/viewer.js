/* heatpipe viewer: pages and their heatmaps over the live page or its screenshot, segment
   comparisons, the most clicked elements, and the session list (the replay is in player.js).
   Every data call carries the API token kept in sessionStorage (asked for when the API answers
   401); at /share/{site}/heatmap or /share/{site}/session it shows only what a link shares. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var state = { page: null, pages: [], tab: 'pages', imageSeq: 0 };
  var hp = window.heatpipe = { state: state, $: $ };
  var TOKEN_KEY = 'heatpipe.token';
  var shared = location.pathname.match(/^\/share\/([a-z0-9][a-z0-9-]{0,62})\/(heatmap|session)$/);
  hp.shared = shared ? { site: shared[1], kind: shared[2] } : null;

  /* The token form: one prompt however many requests were refused at once. */
  var asking = null;
  function askToken(refusedToken) {
    if (asking) return asking;
    var message = $('auth-message');
    if (refusedToken) {
      message.textContent = 'This token is not valid. Enter another one.';
      message.classList.add('refused');
    } else {
      message.textContent = 'This heatpipe needs an API token to show its data.';
      message.classList.remove('refused');
    }
    hp.setStatus(refusedToken ? 'This token is not valid.' : 'Waiting for an API token…');
    $('auth-panel').hidden = false;
    $('token-input').value = '';
    $('token-input').focus();
    asking = new Promise(function (resolve) {
      $('auth-form').onsubmit = function (e) {
        e.preventDefault();
        var token = $('token-input').value.trim();
        if (!token) return;
        sessionStorage.setItem(TOKEN_KEY, token);
        $('auth-panel').hidden = true;
        asking = null;
        resolve(token);
      };
    });
    return asking;
  }

  /* fetch() with the bearer token; a 401 asks for a token and tries again with it. A refusal
     (403) is said in the status line and passed on. */
  hp.fetch = function (url, options) {
    var token = hp.shared ? '' : (sessionStorage.getItem(TOKEN_KEY) || '');
    var init = Object.assign({}, options || {});
    init.headers = Object.assign({}, init.headers || {});
    if (token) init.headers.Authorization = 'Bearer ' + token;
    return fetch(url, init).then(function (r) {
      if (r.status === 401 && !hp.shared) {
        return askToken(token).then(function () { return hp.fetch(url, options); });
      }
      if (r.status === 403) {
        var refusal = hp.shared ? 'This share link is not valid or has expired' : 'This token may not do that';
        return r.json().catch(function () { return {}; }).then(function (body) {
          var err = new Error(refusal + (body.error ? ' (' + body.error.message + ')' : ''));
          err.refused = true;
          throw err;
        });
      }
      return r;
    });
  };

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
  hp.getJson = function (url, options) {
    return hp.fetch(url, options).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + r.status);
        return body;
      });
    });
  };
  hp.setStatus = function (text) { $('status').textContent = text; $('status').classList.remove('refused'); };
  /* Says what failed; a refusal (403) is shown as such. */
  hp.failed = function (what, err) {
    hp.setStatus(what + ': ' + err.message);
    if (err.refused) $('status').classList.add('refused');
  };
  /* Loads an image through hp.fetch (an <img> cannot send the token) into target as a blob URL;
     resolves once it is drawn. Only the newest request for the page is shown. */
  hp.loadImage = function (target, url) {
    var seq = ++state.imageSeq;
    return hp.fetch(url).then(function (r) {
      if (!r.ok) return r.json().then(function (body) { throw new Error(body.error ? body.error.message : 'HTTP ' + r.status); });
      return r.blob();
    }).then(function (blob) {
      if (seq !== state.imageSeq) return null;
      return new Promise(function (resolve, reject) {
        var previous = target.dataset.blob;
        var src = URL.createObjectURL(blob);
        target.onload = function () { if (previous) URL.revokeObjectURL(previous); resolve(target); };
        target.onerror = function () { reject(new Error('the image cannot be decoded')); };
        target.dataset.blob = src; target.dataset.url = url;
        target.src = src;
      });
    });
  };
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
    }).catch(function (err) { hp.failed('Could not load pages', err); });
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

  /* A difference map's legend: which side is which colour, that only significant differences
     are coloured, and how many page views each side has. */
  var legendSeq = 0;
  function legend(page) {
    var mode = $('compare-mode').value, text = '', seq = ++legendSeq;
    var segment = $('segment').value.trim(), joined = function (extra) { return [segment, extra].filter(Boolean).join(','); };
    var sides = [];
    if (mode === 'segments') {
      text = 'Red: more per page view in ' + $('compare-a').value + ' · blue: more in ' + $('compare-b').value;
      sides = [{ segment: joined($('compare-a').value.trim()) }, { segment: joined($('compare-b').value.trim()) }];
    }
    if (mode === 'range') {
      text = 'Red: more per page view in ' + $('from').value + '–' + $('to').value + ' · blue: more in ' + $('compare-from').value + '–' + $('compare-to').value;
      sides = [{ segment: segment }, { segment: segment, from: $('compare-from').value, to: $('compare-to').value }];
    }
    if (text) text += ' · coloured only where the difference is statistically significant (false discovery rate 5 %), clear elsewhere.';
    if (!text) { bandLegend(page, seq); return; }
    $('legend').textContent = text; $('legend').hidden = false;
    Promise.all(sides.map(function (side) {
      return hp.getJson(hp.api('scroll-depth', Object.assign({ page: page.key }, side))).then(function (d) { return d.views; }, function () { return 0; });
    })).then(function (views) {
      if (seq !== legendSeq) return;
      $('legend').textContent = text + ' Page views: ' + views[0] + ' (red side) and ' + views[1] + ' (blue side).';
      $('legend').dataset.views = views.join(',');
    });
  }

  /* The legend of a band map: the attention map's scale in seconds per page view, the scroll
     map's fold lines (the viewport heights at load: median solid, quartiles dashed). */
  function bandLegend(page, seq) {
    var kind = $('kind').value;
    $('legend').hidden = true; $('legend').textContent = '';
    delete $('legend').dataset.peak;
    if (kind !== 'attention' && kind !== 'scroll') return;
    hp.getJson(hp.api('scroll-depth', { page: page.key, segment: $('segment').value.trim() })).then(function (depth) {
      if (seq !== legendSeq) return;
      var text, fold = depth.fold_px, px = function (v) { return v == null ? '–' : v + ' px'; };
      if (kind === 'attention') {
        var peak = depth.attention.peak_seconds_per_view;
        text = 'Attention: seconds each part of the page was in view, per page view (inactive gaps of 3 s or more left out) · clear: never in view · top colour: ' +
          peak.toFixed(1) + ' s per view · ' + depth.attention.views + ' page views.';
        $('legend').dataset.peak = String(peak);
      } else {
        text = 'Fold (viewport height at load): median ' + px(fold.p50) + ' (solid line) · 25 % of views ' + px(fold.p25) +
          ', 75 % ' + px(fold.p75) + ' (dashed lines) · colour: share of ' + depth.views + ' page views that scrolled this far.';
      }
      $('legend').textContent = text; $('legend').hidden = false;
    }).catch(function () {});
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
    legend(page);
    hp.setStatus('Loading the ' + $('kind').value + ' map of ' + page.url + '…');
    var url = hp.api('heatmap.png', heatmapQuery(page));
    var target = composite ? snapshot : overlay;
    hp.loadImage(target, url).then(function (drawn) {
      if (!drawn) return;
      frame.style.height = target.naturalHeight + 'px';
      target.style.width = target.naturalWidth + 'px';
      $('canvas').dataset.ready = url;
      hp.setStatus(page.url + ' — ' + page.views + ' views, ' + page.clicks + ' clicks, ' + page.sessions + ' sessions');
      if ($('kind').value === 'scroll') describeScroll(page);
    }).catch(function (err) { hp.failed('No map', err); });
    loadElements(page);
  }

  /* Asks the API for a link to what is shown and puts it where it can be copied. */
  hp.share = function (what) {
    var body = Object.assign({ expires_in_s: 7 * 86400 }, what);
    hp.getJson('/api/sites/' + encodeURIComponent($('site').value) + '/share',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then(function (link) {
      $('share-url').value = new URL(link.url, location.href).href;
      $('share-expiry').textContent = link.expires_at.replace('T', ' ').slice(0, 16) + ' UTC';
      $('share-result').hidden = false;
      $('share-url').select();
    }).catch(function (err) { hp.failed('Could not make a link', err); });
  };
  $('share-heatmap').addEventListener('click', function () {
    if (!state.page) return;
    var query = Object.assign({ from: $('from').value, to: $('to').value }, heatmapQuery(state.page));
    if ($('device').value !== 'all') query.device = $('device').value;
    Object.keys(query).forEach(function (k) { if (query[k] === '' || query[k] == null) delete query[k]; });
    hp.share({ heatmap: query });
  });

  function describeScroll(page) {
    hp.getJson(hp.api('scroll-depth', { page: page.key, segment: $('segment').value.trim() })).then(function (depth) {
      var half = depth.reached_percent[50], bottom = depth.reached_percent[100];
      hp.setStatus(page.url + ' — fold at ' + (depth.fold_px.p50 == null ? '–' : depth.fold_px.p50) + ' px (median; average ' + depth.average_fold_px + ' px); ' +
        (half ? Math.round(half.share * 100) : 0) + '% of views reached half the page, ' + (bottom ? Math.round(bottom.share * 100) : 0) + '% the end.');
    }).catch(function () {});
  }

  function highlight(selector, on) {
    try {
      var doc = $('page-frame').contentDocument, el = doc && doc.querySelector(selector);
      if (el) el.style.outline = on ? '3px solid #e8590c' : '';
    } catch (e) { /* a page on another origin cannot be reached */ }
  }

  /* Only the newest answer fills the table, replacing what was there: a control changed while
     an answer was on its way must not append a second copy of every row. */
  var elementsSeq = 0;
  function loadElements(page) {
    var body = $('elements').tBodies[0];
    var seq = ++elementsSeq;
    hp.getJson(hp.api('elements', { page: page.key, segment: $('segment').value.trim(), limit: 15 })).then(function (rows) {
      if (seq !== elementsSeq) return;
      body.textContent = '';
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

  /* Opens the session list at `url` (a link from the dashboard or a funnel), said as `label`,
     until a filter is changed. */
  hp.showSessions = function (url, label) {
    state.sessionsLink = { url: url + (url.indexOf('?') < 0 ? '?' : '&') + 'limit=200', label: label };
    tab('sessions');
  };

  function loadSessions() {
    var query = { limit: 200, page: $('f-page').value, frustration: $('f-frustration').value, tag: $('f-tag').value.trim(),
                  min_duration: $('f-min').value, max_duration: $('f-max').value };
    var link = state.sessionsLink;
    return hp.getJson(link ? link.url : hp.api('sessions', query)).then(function (sessions) {
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
      var of = link ? ' — ' + link.label + ' (change a filter to see all)' : '';
      hp.setStatus((sessions.length ? sessions.length + ' sessions' + of + '. Pick one to replay.' : 'No sessions match' + of + '.'));
      $('sessions').dataset.ready = link ? link.url : 'filters';
    }).catch(function (err) { hp.failed('Could not load sessions', err); });
  }

  var TABS = ['dashboard', 'pages', 'funnel', 'sessions'];
  function tab(name) {
    state.tab = name;
    var sessions = name === 'sessions', pages = name === 'pages', analytics = !sessions && !pages;
    $('pages-panel').hidden = !pages; $('sessions-panel').hidden = !sessions;
    $('stage').hidden = analytics; $('analytics').hidden = !analytics;
    $('heatmap-controls').hidden = !pages; $('player-controls').hidden = !sessions;
    TABS.forEach(function (t) { $('tab-' + t).classList.toggle('active', t === name); });
    $('legend').hidden = true;
    hp.stopReplay && hp.stopReplay();
    if (sessions) { $('overlay').removeAttribute('src'); loadSessions(); }
    else if (pages) { if (state.page) showPage(state.page); else loadPages(); }
    else hp.showAnalytics(name);
  }
  hp.tab = tab;

  TABS.forEach(function (t) {
    $('tab-' + t).addEventListener('click', function () { if (t === 'sessions') state.sessionsLink = null; tab(t); });
  });
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
      state.sessionsLink = null;
      loadPages().then(function () {
        if (state.tab === 'sessions') loadSessions();
        else if (state.tab === 'pages') { if (state.page) showPage(state.page); }
        else hp.showAnalytics(state.tab);
      });
    });
  });
  Array.prototype.forEach.call($('session-filters').elements, function (el) {
    el.addEventListener('change', function () { state.sessionsLink = null; loadSessions(); });
  });
  $('session-filters').addEventListener('submit', function (e) { e.preventDefault(); loadSessions(); });
  hp.loadSessions = loadSessions;

  /* A share link: only the heatmap or the replay it names, with nothing to change. */
  function openShared() {
    document.body.classList.add('shared');
    $('shared-label').hidden = false;
    $('heatmap-controls').hidden = true;
    var base = '/share/' + hp.shared.site + '/' + hp.shared.kind;
    if (hp.shared.kind === 'session') {
      $('player-controls').hidden = false;
      // player.js, loaded after this file, loads the session's timeline and DOM recording.
      document.addEventListener('DOMContentLoaded', function () { hp.openSharedSession(base, location.search); });
      return;
    }
    var composite = params.get('composite') === '1' || params.get('composite') === 'true';
    var frame = $('page-frame'), target = composite ? $('snapshot') : $('overlay');
    frame.hidden = composite; $('snapshot').hidden = !composite; $('overlay').hidden = composite;
    frame.style.width = (parseInt(params.get('width'), 10) || 1280) + 'px';
    hp.setStatus('Loading the shared heatmap…');
    hp.getJson(base + '.json' + location.search).then(function (page) {
      if (!composite) { frame.dataset.url = page.url; frame.src = page.url; }
      var url = base + '.png' + location.search;
      return hp.loadImage(target, url).then(function (drawn) {
        if (!drawn) return;
        frame.style.height = target.naturalHeight + 'px';
        target.style.width = target.naturalWidth + 'px';
        $('canvas').dataset.ready = url;
        hp.setStatus(page.url + ' — ' + (params.get('kind') || 'click') + ' map, ' + params.get('from') + ' to ' + params.get('to') +
          ', ' + page.views + ' views, ' + page.clicks + ' clicks · shared until ' + page.expires_at.replace('T', ' ').slice(0, 16) + ' UTC');
      });
    }).catch(function (err) { hp.failed('Could not load the shared heatmap', err); });
  }

  /* The dashboard first (analytics.js, loaded after this file, draws it), or ?tab=pages|funnel|sessions. */
  if (hp.shared) { $('stage').hidden = false; $('analytics').hidden = true; openShared(); }
  else {
    var first = TABS.indexOf(params.get('tab')) >= 0 ? params.get('tab') : 'dashboard';
    state.tab = first;
    loadPages().then(function () { tab(first); });
  }
})();
