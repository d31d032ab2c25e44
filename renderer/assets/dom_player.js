/* heatpipe DOM replay: a session's rrweb recording, replayed by rrweb's Replayer
   (window.heatpipeRrwebReplayer, from /assets/replay.js) in its own sandboxed iframe
   (sandbox="allow-same-origin": no scripts of the recorded page ever run), at the visitor's
   viewport size (Meta events, then ViewportResize) scaled to fit the player. player.js keeps the
   clock: timeline time t (ms since the session started) is the replayer's offset
   t + timeline.started_at − the recording's first timestamp; this file follows it. */
(function () {
  'use strict';
  var hp = window.heatpipe, $ = hp.$;
  /* The replayer is moved to the clock when the two disagree by more than this. */
  var DRIFT_MS = 600;
  var META = 4, FULL_SNAPSHOT = 2;
  var dom = hp.dom = { replayer: null, base: 0, total: 0, running: false, finished: false, size: null, scale: 1 };

  /* Fetches a recording: resolves to it, or to null when the session has none (404). */
  hp.loadRecording = function (url) {
    return hp.fetch(url).then(function (r) {
      if (r.status === 404) return null;
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + r.status);
        return body;
      });
    });
  };

  function offset(t) { return t + dom.base; }

  /* Scales the replayer (the visitor's viewport) to fit the player area, never above 1:1. */
  function fit() {
    var size = dom.size, wrapper = dom.replayer && dom.replayer.wrapper;
    if (!size || !wrapper) return;
    var stage = $('dom-stage'), area = $('viewport');
    var availableWidth = Math.max(160, area.clientWidth - 4);
    var availableHeight = Math.max(240, window.innerHeight - area.getBoundingClientRect().top - 16);
    var scale = Math.min(1, availableWidth / size.width, availableHeight / size.height);
    wrapper.style.width = size.width + 'px'; wrapper.style.height = size.height + 'px';
    wrapper.style.transform = 'scale(' + scale + ')';
    wrapper.style.transformOrigin = '0 0';
    stage.style.width = Math.round(size.width * scale) + 'px';
    stage.style.height = Math.round(size.height * scale) + 'px';
    stage.dataset.width = size.width; stage.dataset.height = size.height;
    stage.dataset.scale = scale.toFixed(4);
    dom.scale = scale;
  }
  window.addEventListener('resize', fit);

  /* The recording's events, with a Meta event first when it has none (the replayer sizes its
     frame from Meta events only): the timeline's first viewport. */
  function withMeta(events, timeline) {
    if (events.some(function (e) { return e.type === META; })) return events;
    var view = timeline.page_views[0];
    return [{ type: META, timestamp: events[0].timestamp,
              data: { href: view.url, width: view.viewport[0], height: view.viewport[1] } }].concat(events);
  }

  /* Builds the replayer for `recording` (the recording API's answer) in #dom-stage, paused at
     its start; false when it cannot be replayed (no full snapshot, or too few events). */
  dom.start = function (recording, timeline, speed) {
    dom.stop();
    var Replayer = window.heatpipeRrwebReplayer, events = recording.events || [];
    if (!Replayer || events.length < 2 || !events.some(function (e) { return e.type === FULL_SNAPSHOT; })) return false;
    events = withMeta(events, timeline);
    var stage = $('dom-stage');
    stage.hidden = false;
    var replayer = new Replayer(events, {
      root: stage,
      speed: speed,
      // Our own timeline's inactivity is skipped by player.js, by seeking.
      skipInactive: false,
      // Scripts stay off in the replay frame: canvases are shown as recorded, not replayed.
      UNSAFE_replayCanvas: false,
      triggerFocus: false,
      showWarning: false,
      insertStyleRules: [],
      mouseTail: { duration: 1500, lineCap: 'round', lineWidth: 3, strokeStyle: 'rgba(232, 89, 12, 0.7)' },
    });
    var meta = replayer.getMetaData();
    dom.replayer = replayer;
    dom.base = timeline.started_at - meta.startTime;
    dom.total = meta.totalTime;
    dom.end = meta.endTime - timeline.started_at;
    dom.running = false; dom.finished = false;
    var first = events.filter(function (e) { return e.type === META; })[0];
    dom.size = { width: first.data.width, height: first.data.height };
    replayer.on('resize', function (d) { dom.size = { width: d.width, height: d.height }; fit(); });
    replayer.on('finish', function () { dom.running = false; dom.finished = true; });
    fit();
    return true;
  };

  /* Shows the recording at timeline time t, playing on from there when `playing`. */
  dom.seek = function (t, playing) {
    var replayer = dom.replayer;
    if (!replayer) return;
    var want = offset(t), at = Math.max(0, Math.min(want, dom.total));
    dom.finished = false;
    if (playing && want >= 0 && want < dom.total) { replayer.play(at); dom.running = true; }
    else { replayer.pause(at); dom.running = false; }
  };

  dom.pause = function () {
    if (!dom.replayer) return;
    if (dom.running) dom.replayer.pause();
    dom.running = false;
  };

  /* Called on every frame of playback: starts the replayer once the clock reaches the
     recording, and moves it back to the clock when they drift apart. */
  dom.sync = function (t) {
    var replayer = dom.replayer;
    if (!replayer || dom.finished) return;
    var want = offset(t);
    if (want < 0 || want >= dom.total) return;
    if (!dom.running || Math.abs(replayer.getCurrentTime() - want) > DRIFT_MS) {
      replayer.play(want);
      dom.running = true;
    }
  };

  dom.setSpeed = function (speed) { if (dom.replayer) dom.replayer.setConfig({ speed: speed }); };

  dom.stop = function () {
    var replayer = dom.replayer;
    dom.replayer = null; dom.running = false; dom.size = null;
    if (replayer) {
      try { replayer.destroy(); } catch (e) { /* already detached */ }
    }
    var stage = $('dom-stage');
    stage.hidden = true; stage.textContent = '';
    stage.style.width = ''; stage.style.height = '';
  };
})();
