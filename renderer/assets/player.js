/* heatpipe replay player: a timeline with inactivity and markers, play/pause, 1–8× speed,
   skipping inactivity, and jumping to a marker, over one of two pictures of the session. With a
   DOM recording, rrweb replays it (dom_player.js, driven by this file's clock). Without one, the
   live page: each page view's page in a frame at the visitor's viewport width, the cursor with a
   fading trail, click ripples and the visitor's scroll position, drawn here. */
(function () {
  'use strict';
  var hp = window.heatpipe, $ = hp.$;
  var TRAIL_MS = 1500, RIPPLE_MS = 700, SKIP_MARGIN_MS = 400;
  var MARKER_LABELS = { click: 'Click', rage_click: 'Rage click', dead_click: 'Dead click', scroll_jump: 'Scroll jump',
                        excessive_scroll: 'Excessive scrolling', quick_back: 'Quick back', navigation: 'New page' };
  var player = hp.player = { timeline: null, t: 0, playing: false, frame: 0, last: 0, view: null, mode: null, duration: 0, seq: 0 };
  var dom = hp.dom;

  /* Index of the first event after time t (events are sorted by t). */
  function upperBound(events, t) {
    var lo = 0, hi = events.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (events[mid].t <= t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function viewAt(t) {
    var views = player.timeline.page_views, current = views[0];
    views.forEach(function (v) { if (v.t <= t) current = v; });
    return current;
  }

  function showView(view) {
    if (player.view === view) return;
    player.view = view;
    var frame = $('page-frame'), layer = $('replay-layer');
    // The frame lays the page out as wide as the visitor's document: the viewport width, or
    // wider where the page did not fit it (a phone zooms a fixed-width page out to fit).
    var height = Math.max(view.document[1], view.viewport[1], 200);
    var width = Math.max(view.document[0], view.viewport[0]);
    frame.style.width = width + 'px';
    frame.style.height = height + 'px';
    layer.width = width; layer.height = height;
    layer.style.width = width + 'px'; layer.style.height = height + 'px';
    $('canvas').style.minWidth = width + 'px';
    if (frame.dataset.url !== view.url) { frame.dataset.url = view.url; frame.src = view.url; }
    var available = $('viewport').clientWidth - 4;
    var scale = Math.min(1, available / width);
    $('canvas').style.transform = 'scale(' + scale + ')';
    $('canvas').style.transformOrigin = '0 0';
    player.scale = scale;
    $('viewport').style.height = Math.round(view.viewport[1] * scale) + 'px';
  }

  /* Draws the replay at time t: the clock, clicks so far and progress, and in live-page mode
     the cursor, trail, ripples and scroll position. */
  function draw(t) {
    if (player.mode === 'live') drawLive(t);
    var clicks = player.clicksBefore[upperBound(player.timeline.events, t)];
    $('clock').textContent = (t / 1000).toFixed(1) + ' / ' + (player.duration / 1000).toFixed(1) + ' s';
    $('clicks-shown').textContent = clicks + (clicks === 1 ? ' click' : ' clicks');
    $('clicks-shown').dataset.count = clicks;
    $('timeline-progress').style.width = (100 * t / Math.max(player.duration, 1)).toFixed(2) + '%';
  }

  function drawLive(t) {
    var timeline = player.timeline, events = timeline.events;
    var view = viewAt(t);
    showView(view);
    var end = upperBound(events, t);
    var cursor = null, scrollY = null, trail = [], ripples = [];
    // Walk back from t until everything drawn is found: the view's events all start at view.t.
    for (var i = end - 1; i >= 0; i--) {
      var e = events[i];
      if (e.t < view.t || (cursor && scrollY !== null && t - e.t > TRAIL_MS)) break;
      if (e.page_view !== view.index) continue;
      if ((e.kind === 'move' || e.kind === 'click') && !cursor) cursor = e;
      if ((e.kind === 'move' || e.kind === 'click') && t - e.t <= TRAIL_MS) trail.push(e);
      if (e.kind === 'click' && t - e.t <= RIPPLE_MS) ripples.push(e);
      if (e.kind === 'scroll' && scrollY === null) scrollY = e.y;
    }
    var layer = $('replay-layer'), ctx = layer.getContext('2d');
    ctx.clearRect(0, 0, layer.width, layer.height);
    ctx.lineWidth = 3; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
    for (var k = trail.length - 1; k > 0; k--) {
      var a = trail[k], b = trail[k - 1];
      ctx.strokeStyle = 'rgba(232, 89, 12, ' + (0.7 * (1 - (t - b.t) / TRAIL_MS)).toFixed(3) + ')';
      ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
    }
    ripples.forEach(function (c) {
      var age = (t - c.t) / RIPPLE_MS;
      ctx.strokeStyle = 'rgba(250, 82, 82, ' + (1 - age).toFixed(3) + ')';
      ctx.lineWidth = 3;
      ctx.beginPath(); ctx.arc(c.x, c.y, 8 + 28 * age, 0, 2 * Math.PI); ctx.stroke();
    });
    var dot = $('cursor');
    dot.hidden = !cursor;
    if (cursor) { dot.style.left = cursor.x + 'px'; dot.style.top = cursor.y + 'px'; }
    $('viewport').scrollTop = Math.round((scrollY || 0) * (player.scale || 1));
  }

  /* Moves past inactivity when skipping is on. */
  function skipInactivity(t) {
    if (!$('skip').checked) return t;
    var spans = player.timeline.inactivity;
    for (var i = 0; i < spans.length; i++) {
      if (t > spans[i].start + SKIP_MARGIN_MS && t < spans[i].end - SKIP_MARGIN_MS) return spans[i].end - SKIP_MARGIN_MS;
    }
    return t;
  }

  function tick(now) {
    if (!player.playing) return;
    var elapsed = Math.min(now - player.last, 250) * parseInt($('speed').value, 10);
    player.last = now;
    var next = player.t + elapsed, skipped = skipInactivity(next);
    player.t = skipped;
    var end = player.duration;
    if (player.t >= end) { player.t = end; pause(); }
    if (player.mode === 'dom' && player.playing) {
      if (skipped !== next) dom.seek(player.t, true); else dom.sync(player.t);
    }
    draw(player.t);
    if (player.playing) player.frame = requestAnimationFrame(tick);
  }

  function play() {
    if (!player.timeline) return;
    if (player.t >= player.duration) player.t = 0;
    player.playing = true; player.last = performance.now();
    if (player.mode === 'dom') dom.seek(player.t, true);
    $('play').textContent = 'Pause';
    player.frame = requestAnimationFrame(tick);
  }
  function pause() {
    player.playing = false;
    cancelAnimationFrame(player.frame);
    if (player.mode === 'dom') dom.pause();
    $('play').textContent = 'Play';
  }
  function seek(t) {
    player.t = Math.max(0, Math.min(t, player.duration));
    if (player.mode === 'dom') dom.seek(player.t, player.playing);
    draw(player.t);
  }
  player.seek = seek; player.pause = pause;

  function buildTimelineBar(timeline) {
    var bar = $('timeline-bar'), duration = Math.max(player.duration, 1);
    Array.prototype.slice.call(bar.querySelectorAll('.span, .tick')).forEach(function (el) { el.remove(); });
    timeline.inactivity.forEach(function (span) {
      var el = document.createElement('div'); el.className = 'span';
      el.style.left = (100 * span.start / duration) + '%'; el.style.width = (100 * (span.end - span.start) / duration) + '%';
      bar.appendChild(el);
    });
    var list = $('markers'); list.textContent = '';
    timeline.markers.forEach(function (m) {
      var tick = document.createElement('div'); tick.className = 'tick ' + m.kind;
      tick.style.left = (100 * m.t / duration) + '%'; tick.title = MARKER_LABELS[m.kind] + ' at ' + (m.t / 1000).toFixed(1) + ' s';
      bar.appendChild(tick);
      if (m.kind === 'click') return;
      var item = document.createElement('li'); item.className = m.kind;
      item.textContent = (m.t / 1000).toFixed(1) + ' s · ' + MARKER_LABELS[m.kind] + (m.selector ? ' on ' + m.selector : '');
      item.addEventListener('click', function () { pause(); seek(Math.max(0, m.t - 1000)); });
      list.appendChild(item);
    });
  }

  hp.stopReplay = function () {
    pause();
    player.seq++;
    dom.stop();
    player.timeline = null; player.view = null; player.mode = null;
    $('replay-layer').hidden = true; $('cursor').hidden = true; $('canvas').hidden = false;
    $('player-mode').textContent = ''; delete $('player-mode').dataset.mode;
    $('viewport').style.height = ''; $('viewport').scrollTop = 0;
    $('canvas').style.transform = ''; $('canvas').style.minWidth = '';
  };

  /* Loads a timeline and its recording (null when there is none; an error when it could not
     be loaded) together, then plays them, unless another session was opened meanwhile. */
  function open(timelineUrl, recordingUrl, what) {
    var seq = player.seq;
    var recording = hp.loadRecording(recordingUrl).catch(function (err) { return { failed: err }; });
    return Promise.all([hp.getJson(timelineUrl), recording]).then(function (answers) {
      if (seq === player.seq) hp.playTimeline(answers[0], answers[1]);
    }).catch(function (err) { if (seq === player.seq) hp.failed('Could not load ' + what, err); });
  }

  hp.replay = function (session) {
    hp.stopReplay();
    player.session = session;
    hp.setStatus('Loading session ' + session.id + '…');
    var path = 'sessions/' + encodeURIComponent(session.id);
    open(hp.api(path + '/timeline', { date: session.date, device: '' }),
      hp.api(path + '/recording', { date: session.date, device: '' }), 'the timeline');
  };

  /* A share link's session: its timeline and recording from /share/{site}/session/…. */
  hp.openSharedSession = function (base, search) {
    hp.stopReplay();
    hp.setStatus('Loading the shared session…');
    open(base + '/timeline' + search, base + '/recording' + search, 'the shared session');
  };

  /* Says which picture the player shows, visibly, next to the controls. */
  function showMode(mode, text) {
    player.mode = mode;
    $('player-mode').textContent = text;
    $('player-mode').dataset.mode = mode;
    $('canvas').hidden = mode === 'dom';
    $('page-frame').hidden = mode === 'dom'; $('replay-layer').hidden = mode === 'dom';
    if (mode === 'dom') { $('cursor').hidden = true; $('viewport').style.height = ''; }
  }

  /* The DOM replay when the recording can be replayed, else the live page, said which. */
  function chooseMode(timeline, recording) {
    if (recording && !recording.failed && dom.start(recording, timeline, parseInt($('speed').value, 10))) {
      var damaged = recording.blocks_skipped > 0 ? ' · part of this recording was damaged (' + recording.blocks_skipped +
        (recording.blocks_skipped === 1 ? ' block' : ' blocks') + ' left out)' : '';
      showMode('dom', 'DOM recording' + damaged);
      $('player-mode').classList.toggle('damaged', !!damaged);
      return;
    }
    var why = !recording ? 'no DOM recording of this session'
      : recording.failed ? 'the DOM recording could not be loaded (' + recording.failed.message + ')'
        : 'the DOM recording of this session cannot be replayed';
    $('player-mode').classList.remove('damaged');
    showMode('live', 'Live page: ' + why);
  }

  /* Shows and plays a loaded timeline (from the API, or from a share link) with its recording
     (the recording API's answer, or null). */
  hp.playTimeline = function (timeline, recording) {
    if (!timeline.page_views.length) { hp.setStatus('This session has no readable events.'); return; }
    player.timeline = timeline; player.t = 0;
    // clicksBefore[i]: how many of the first i events are clicks.
    player.clicksBefore = [0];
    timeline.events.forEach(function (e, i) { player.clicksBefore.push(player.clicksBefore[i] + (e.kind === 'click' ? 1 : 0)); });
    $('overlay').removeAttribute('src'); $('overlay').hidden = true; $('snapshot').hidden = true;
    chooseMode(timeline, recording);
    player.duration = Math.max(timeline.duration_ms, player.mode === 'dom' ? Math.ceil(dom.end) : 0);
    buildTimelineBar(timeline);
    draw(0);
    hp.setStatus('Session ' + timeline.id + ' · ' + timeline.device + ' · ' + timeline.page_views.length + ' pages · ' +
      timeline.markers.filter(function (m) { return m.kind !== 'click'; }).length + ' markers' +
      (timeline.unreadable_blocks ? ' · ' + timeline.unreadable_blocks + ' unreadable blocks skipped' : '') +
      ' · ' + $('player-mode').textContent);
    play();
  };
  $('share-session').addEventListener('click', function () {
    if (player.session) hp.share({ session: player.session.id, date: player.session.date });
  });

  $('play').addEventListener('click', function () { if (player.playing) pause(); else play(); });
  $('speed').addEventListener('change', function () { if (player.mode === 'dom') dom.setSpeed(parseInt($('speed').value, 10)); });
  $('timeline-bar').addEventListener('click', function (e) {
    if (!player.timeline) return;
    var rect = $('timeline-bar').getBoundingClientRect();
    seek((e.clientX - rect.left) / rect.width * player.duration);
  });
})();
