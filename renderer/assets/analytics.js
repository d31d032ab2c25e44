/* heatpipe viewer: the dashboard (figures for the range, a uPlot trend per day, the top pages in
   a sortable table), the funnel builder with its drop-offs, and page paths. Every figure opens
   the session list behind it. Uses window.heatpipe from viewer.js and window.uPlot from
   /assets/charts.js. */
(function () {
  'use strict';
  var hp = window.heatpipe, $ = hp.$, state = hp.state;
  function count(v) { return v == null ? '—' : String(v); }
  function fixed(v) { return v == null ? '—' : v.toFixed(2); }
  function seconds(v) { return v == null ? '—' : (v / 1000).toFixed(1) + ' s'; }
  function percent(v) { return v == null ? '—' : v.toFixed(1) + ' %'; }
  function share(v) { return v == null ? '—' : (v * 100).toFixed(1) + ' %'; }
  /* [field, label, format, link]: the link names the session list behind the figure. */
  var FIGURES = [
    ['sessions', 'Sessions', count, 'sessions'], ['page_views', 'Page views', count, 'sessions'],
    ['pages_per_session', 'Pages per session', fixed, 'sessions'],
    ['active_ms_median', 'Active time, median', seconds, 'sessions'], ['active_ms_mean', 'Active time, mean', seconds, 'sessions'],
    ['scroll_depth_percent_mean', 'Scroll depth, mean', percent, 'sessions'],
    ['rage_click_share', 'Rage clicks', share, 'rage_click_share'], ['dead_click_share', 'Dead clicks', share, 'dead_click_share'],
    ['excessive_scroll_share', 'Excessive scrolling', share, 'excessive_scroll_share'], ['quick_back_share', 'Quick backs', share, 'quick_back_share']
  ];
  var analytics = hp.analytics = { dashboard: null, chart: null, sort: { field: 'page_views', down: true }, funnel: null, paths: null };

  function cell(row, text, onClick) {
    var td = row.insertCell(); td.textContent = text;
    if (onClick) { td.className = 'link'; td.addEventListener('click', onClick); }
    return td;
  }

  function showCards(board) {
    var cards = $('dash-cards'); cards.textContent = '';
    FIGURES.forEach(function (f) {
      var card = document.createElement('button');
      card.type = 'button'; card.className = 'card'; card.dataset.figure = f[0];
      var value = document.createElement('strong'); value.textContent = f[2](board[f[0]]);
      var label = document.createElement('span'); label.textContent = f[1];
      card.appendChild(value); card.appendChild(label);
      card.title = 'Show the sessions behind this figure';
      card.addEventListener('click', function () { hp.showSessions(board.links[f[3]], f[1] + ', ' + $('from').value + ' to ' + $('to').value); });
      cards.appendChild(card);
    });
  }

  function showTrend(board) {
    var field = $('dash-trend').value, figure = FIGURES.find(function (f) { return f[0] === field; });
    var xs = board.days.map(function (d) { return Date.parse(d.date + 'T00:00:00Z') / 1000; });
    var ys = board.days.map(function (d) { return d[field]; });
    var box = $('dash-chart'); box.textContent = '';
    if (analytics.chart) analytics.chart.destroy();
    analytics.chart = new window.uPlot({
      width: Math.max(320, Math.min(900, box.clientWidth || 900)), height: 220,
      scales: { x: { time: true } },
      series: [{}, { label: figure[1], stroke: '#3b5bdb', width: 2, fill: 'rgba(59,91,219,.12)', points: { show: true, size: 6 },
                     value: function (u, v) { return figure[2](v); } }],
      axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return figure[2](v); }); }, size: 70 }]
    }, [xs, ys], box);
    analytics.trend = { field: field, xs: xs, ys: ys };
  }

  function showPagesTable(board) {
    var body = $('dash-pages').tBodies[0]; body.textContent = '';
    var sort = analytics.sort;
    var pages = board.pages.slice().sort(function (a, b) {
      var x = a[sort.field], y = b[sort.field];
      if (x == null) x = -Infinity; if (y == null) y = -Infinity;
      if (typeof x === 'string') return sort.down ? y.localeCompare(x) : x.localeCompare(y);
      return sort.down ? y - x : x - y;
    });
    pages.forEach(function (p) {
      var row = body.insertRow(); row.dataset.key = p.key;
      cell(row, p.url);
      FIGURES.forEach(function (f) {
        if (f[0] === 'active_ms_mean') return;
        cell(row, f[2](p[f[0]]), function () { hp.showSessions(p.links[f[3]], f[1] + ' on ' + p.url); });
      });
    });
    Array.prototype.forEach.call($('dash-pages').tHead.rows[0].cells, function (th) {
      th.classList.toggle('sorted', th.dataset.field === sort.field);
      th.classList.toggle('down', th.dataset.field === sort.field && sort.down);
    });
  }

  function buildPagesHead() {
    var head = $('dash-pages').tHead.rows[0]; head.textContent = '';
    [['url', 'Page']].concat(FIGURES.filter(function (f) { return f[0] !== 'active_ms_mean'; })).forEach(function (f) {
      var th = document.createElement('th'); th.textContent = f[1]; th.dataset.field = f[0];
      th.addEventListener('click', function () {
        analytics.sort = { field: f[0], down: analytics.sort.field === f[0] ? !analytics.sort.down : f[0] !== 'url' };
        if (analytics.dashboard) showPagesTable(analytics.dashboard);
      });
      head.appendChild(th);
    });
  }

  var dashboardSeq = 0;
  function loadDashboard() {
    var seq = ++dashboardSeq;
    hp.setStatus('Loading the dashboard…');
    return hp.getJson(hp.api('dashboard', { segment: $('dash-segment').value.trim(), pages: 50 })).then(function (board) {
      if (seq !== dashboardSeq) return;
      analytics.dashboard = board;
      showCards(board); showTrend(board); showPagesTable(board);
      $('dash-view').dataset.ready = String(seq);
      hp.setStatus(board.sessions + ' sessions from ' + $('from').value + ' to ' + $('to').value + '. Click a figure for its sessions.');
    }).catch(function (err) { hp.failed('Could not load the dashboard', err); });
  }

  /* The funnel builder: steps picked from the site's pages or typed (a URL, a path, a prefix
     ending in *), in order. */
  function addStep(value) {
    var li = document.createElement('li');
    var input = document.createElement('input'); input.className = 'step'; input.setAttribute('list', 'page-urls');
    input.placeholder = '/product/* or a page URL'; input.value = value || '';
    var remove = document.createElement('button'); remove.type = 'button'; remove.textContent = '✕'; remove.title = 'Remove this step';
    remove.addEventListener('click', function () { li.remove(); });
    li.appendChild(input); li.appendChild(remove);
    $('funnel-steps').appendChild(li);
  }
  function fillPageUrls() {
    var list = $('page-urls'); list.textContent = '';
    var select = $('paths-page'), keep = select.value; select.length = 0;
    state.pages.forEach(function (p) {
      var option = document.createElement('option'); option.value = p.url; list.appendChild(option);
      select.add(new Option(p.url, p.key));
    });
    if (keep) select.value = keep;
  }

  var funnelSeq = 0;
  function loadFunnel() {
    var steps = Array.prototype.map.call(document.querySelectorAll('#funnel-steps .step'), function (i) { return i.value.trim(); })
      .filter(function (s) { return s; });
    if (steps.length < 2) { hp.setStatus('A funnel needs two steps or more.'); return Promise.resolve(); }
    var seq = ++funnelSeq;
    return hp.getJson(hp.api('funnel', { steps: steps.join(','), within: $('funnel-within').value.trim(), segment: $('dash-segment').value.trim() })).then(function (funnel) {
      if (seq !== funnelSeq) return;
      analytics.funnel = funnel;
      var bars = $('funnel-bars'); bars.textContent = '';
      funnel.steps.forEach(function (step, i) {
        if (i > 0) {
          var previous = funnel.steps[i - 1], lost = previous.sessions - step.sessions;
          var drop = document.createElement('button'); drop.type = 'button'; drop.className = 'drop';
          drop.dataset.step = String(i);
          drop.textContent = '↓ ' + lost + ' dropped' + (previous.sessions ? ' (' + Math.round(lost / previous.sessions * 100) + ' %)' : '') +
            (step.median_ms_from_previous != null ? ' · median ' + seconds(step.median_ms_from_previous) + ' to the next step' : '') + ' — list them';
          drop.addEventListener('click', function () { hp.showSessions(previous.dropped_sessions_url, 'Dropped after step ' + previous.step + ' (' + previous.url + ')'); });
          bars.appendChild(drop);
        }
        var row = document.createElement('div'); row.className = 'bar-row'; row.dataset.step = String(step.step);
        var label = document.createElement('div'); label.className = 'bar-label';
        label.textContent = step.step + '. ' + step.url + ' — ' + step.sessions + ' sessions' + (step.from_first != null ? ' (' + share(step.from_first) + ' of the first step)' : '');
        var bar = document.createElement('div'); bar.className = 'bar';
        bar.style.width = ((step.from_first || 0) * 100).toFixed(1) + '%';
        row.appendChild(label); row.appendChild(bar); bars.appendChild(row);
      });
      hp.setStatus('Funnel of ' + funnel.steps.length + ' steps: ' + funnel.steps[funnel.steps.length - 1].sessions + ' of ' + funnel.steps[0].sessions + ' sessions went all the way.');
    }).catch(function (err) { hp.failed('Could not build the funnel', err); });
  }

  function loadPaths() {
    var page = $('paths-page').value;
    if (!page) return Promise.resolve();
    return hp.getJson(hp.api('paths', { page: page, direction: $('paths-direction').value, depth: $('paths-depth').value, segment: $('dash-segment').value.trim() })).then(function (paths) {
      analytics.paths = paths;
      var list = $('paths-list'); list.textContent = '';
      paths.paths.forEach(function (p) {
        var li = document.createElement('li');
        var text = document.createElement('div');
        var pages = $('paths-direction').value === 'previous' ? p.pages.concat(['this page']) : ['this page'].concat(p.pages);
        text.textContent = pages.join(' → ') + ' — ' + p.sessions + ' sessions (' + share(p.share) + ')';
        var bar = document.createElement('div'); bar.className = 'bar'; bar.style.width = (p.share * 100).toFixed(1) + '%';
        li.appendChild(text); li.appendChild(bar); list.appendChild(li);
      });
    }).catch(function (err) { hp.failed('Could not load the paths', err); });
  }

  /* Called by viewer.js when the dashboard or funnel tab opens or the range changes. */
  hp.showAnalytics = function (name) {
    $('dash-view').hidden = name !== 'dashboard';
    $('funnel-view').hidden = name !== 'funnel';
    fillPageUrls();
    if (name === 'dashboard') return loadDashboard();
    if (!document.querySelector('#funnel-steps li')) {
      var first = state.pages.slice(0, 3).map(function (p) { return p.url; });
      (first.length >= 2 ? first : ['', '']).forEach(addStep);
    }
    return Promise.all([loadFunnel(), loadPaths()]);
  };
  hp.loadFunnel = loadFunnel; hp.addFunnelStep = addStep;

  buildPagesHead();
  $('dash-trend').length = 0;
  FIGURES.forEach(function (f) { $('dash-trend').add(new Option(f[1], f[0])); });
  $('dash-trend').addEventListener('change', function () { if (analytics.dashboard) showTrend(analytics.dashboard); });
  $('dash-segment').addEventListener('change', function () { hp.showAnalytics(state.tab); });
  $('funnel-add').addEventListener('click', function () { addStep(''); });
  $('funnel-form').addEventListener('submit', function (e) { e.preventDefault(); loadFunnel(); });
  ['paths-page', 'paths-direction', 'paths-depth'].forEach(function (id) { $(id).addEventListener('change', loadPaths); });
})();
