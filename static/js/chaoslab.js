/*
 * chaoslab: draws the dashboard widgets. Pages work without this file; it only enhances them.
 *
 * Every element with a `data-chart` attribute holds one widget, either inline in a child
 * `<script type="application/json">` or at the URL in `data-chart` (fetched as JSON):
 *   {"title": "...", "view": "timeSeries" | "singleValue", "period": seconds,
 *    "series": [{"id", "label", "timestamps": [epoch ms, ascending], "values": [...], "latest",
 *                "unit": "Percent" | "Milliseconds" | "Seconds" | "Count" | null}]}
 * Time series become uPlot charts, single values become big numbers; every value is written with
 * its unit, and series of different units get a y axis each. A child marked
 * `data-chart-fallback` (e.g. a table for no-JS visitors) stays in the page for screen readers.
 * Charts are redrawn after htmx swaps and follow their container's width. Times are pipeline
 * time, written HH:MM in UTC like the server's. `window.chaoslab.plotOf(element)` gives the uPlot
 * chart drawn in an element (for the browser tests).
 *
 * Elements marked `data-refresh-note` (rendered `hidden`) say that part of the page refreshes
 * itself; htmx does that, so they are shown once htmx has loaded.
 */
(function () {
  'use strict';

  var drawn = new Set(); // { element, plot, observer } for every live uPlot chart
  var numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function formatNumber(value) {
    return value === null || value === undefined || !isFinite(value) ? '\u2014' : numberFormat.format(value);
  }

  // CloudWatch's unit names, as the server sends them, and how a value is followed by each.
  var unitSymbols = { Percent: '%', Milliseconds: 'ms', Seconds: 's', Count: 'count' };

  /** A value with its unit, as the page's tables write it: 1.5%, 11.39 ms, 4 s, 531 count. */
  function formatValue(value, unit) {
    var number = formatNumber(value);
    var symbol = unitSymbols[unit];
    if (!symbol || number === '\u2014') return number;
    // A non-breaking space keeps a number and its unit on one line.
    return unit === 'Percent' ? number + symbol : number + '\u00a0' + symbol;
  }

  function twoDigits(n) { return (n < 10 ? '0' : '') + n; }

  /**
   * A time on the chart's axis (epoch seconds) as the server writes times: 24-hour, UTC, `HH:MM`,
   * or `HH:MM:SS` when `seconds` is true. It is pipeline time, which may run faster than the
   * wall clock, so the browser's own time zone means nothing here.
   */
  function formatClock(epochSeconds, seconds) {
    var date = new Date(epochSeconds * 1000);
    var text = twoDigits(date.getUTCHours()) + ':' + twoDigits(date.getUTCMinutes());
    return seconds ? text + ':' + twoDigits(date.getUTCSeconds()) : text;
  }

  /** An axis as wide as its longest tick label (uPlot's default fits short numbers only). */
  function axisSize(u, values, axisIndex, cycle) {
    var axis = u.axes[axisIndex];
    if (cycle > 1) return axis._size;
    var longest = (values || []).reduce(function (a, b) { return String(b).length > a.length ? String(b) : a; }, '');
    u.ctx.font = axis.font[0];
    return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / (window.devicePixelRatio || 1));
  }

  /** The newest non-null value of a series: what its legend shows while the pointer is elsewhere. */
  function lastValue(values) {
    for (var i = values.length - 1; i >= 0; i--) {
      if (values[i] !== null && values[i] !== undefined) return values[i];
    }
    return null;
  }

  /** Reads a widget: inline JSON first, else the URL in `data-chart`. */
  function loadWidget(element) {
    var inline = element.querySelector(':scope > script[type="application/json"]');
    if (inline) {
      return Promise.resolve().then(function () { return JSON.parse(inline.textContent); });
    }
    var url = element.getAttribute('data-chart');
    if (!url) return Promise.reject(new Error('no widget JSON and no URL'));
    return fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error(url + ' answered ' + response.status);
        return response.json();
      });
  }

  /**
   * Puts every series on one time axis, in seconds, for uPlot. A series has a point for each
   * period with data, and none for a period without (Lambda reports nothing while idle), so
   * where a series skips a period the line must break: uPlot breaks a line at `null` (with
   * `spanGaps: false`) and joins across `undefined`. Inside a run of missing periods a series
   * gets `null` at every time on the axis, with a time added at the first missing period in
   * case no other series has one there; elsewhere, a time that only other series have (on
   * another grid) is `undefined`, and the line carries on across it.
   */
  function alignSeries(series, periodSeconds) {
    var period = (periodSeconds || 300) * 1000;
    var times = new Set();
    series.forEach(function (s) {
      s.timestamps.forEach(function (t, i) {
        times.add(t);
        var next = s.timestamps[i + 1];
        if (next !== undefined && next - t > period) times.add(t + period);
      });
    });
    var xs = Array.from(times).sort(function (a, b) { return a - b; });
    var data = [xs.map(function (t) { return t / 1000; })];
    series.forEach(function (s) {
      var ys = new Array(xs.length); // every entry undefined: joined across
      var j = 0; // index of the series' newest point at or before xs[i]
      xs.forEach(function (t, i) {
        while (j + 1 < s.timestamps.length && s.timestamps[j + 1] <= t) j++;
        var before = s.timestamps[j];
        var after = s.timestamps[j + 1];
        if (before === t) {
          ys[i] = s.values[j];
        } else if (before < t && after !== undefined && after - before > period) {
          ys[i] = null; // inside periods the series has no data for
        }
      });
      data.push(ys);
    });
    return data;
  }

  /** Removes what an earlier drawing left in `element`, and charts whose element has gone. */
  function forget(element) {
    drawn.forEach(function (chart) {
      if (chart.element === element || !chart.element.isConnected) {
        chart.observer.disconnect();
        chart.plot.destroy();
        drawn.delete(chart);
      }
    });
    var old = element.querySelector(':scope > .chart__plot');
    if (old) old.remove();
  }

  function plotContainer(element, widget) {
    var container = document.createElement('div');
    container.className = 'chart__plot';
    container.setAttribute('role', 'img');
    // The canvas says nothing to a screen reader: the label gives the title and latest values.
    container.setAttribute('aria-label', (widget.title ? widget.title + ': ' : '') +
      widget.series.map(function (s) {
        return s.label + ' ' + formatValue(s.latest === null ? lastValue(s.values) : s.latest, s.unit);
      }).join(', '));
    element.appendChild(container);
    element.classList.add('chart--drawn');
    return container;
  }

  function drawSingleValues(container, widget) {
    container.classList.add('tiles');
    container.removeAttribute('role'); // the tiles are text, readable as they are
    container.removeAttribute('aria-label');
    widget.series.forEach(function (s) {
      var tile = document.createElement('div');
      tile.className = 'tile';
      var value = document.createElement('span');
      value.className = 'tile__value';
      value.textContent = formatValue(s.latest, s.unit);
      var label = document.createElement('span');
      label.className = 'tile__label';
      label.textContent = s.label;
      tile.append(value);
      // A lone value named like its widget needs no label under it: the title says it.
      if (widget.series.length > 1 || s.label !== widget.title) tile.append(label);
      container.appendChild(tile);
    });
  }

  function drawTimeSeries(element, container, widget) {
    var height = Number(element.getAttribute('data-chart-height')) || 220;
    var palette = [1, 2, 3, 4, 5, 6].map(function (n) { return cssVar('--chart-' + n, '#0b5cad'); });
    var text = cssVar('--fg-muted', '#57606a');
    var grid = cssVar('--chart-grid', '#d0d7de');
    var surface = cssVar('--surface', '#ffffff');
    var axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    var period = widget.period || 300;
    var data = alignSeries(widget.series, period);
    // One y scale and axis per unit: milliseconds next to counts would flatten one or the other.
    // The first axis is on the left with the grid, the next on the right, and so on.
    var units = [];
    widget.series.forEach(function (s) {
      if (units.indexOf(s.unit || null) < 0) units.push(s.unit || null);
    });
    var scaleOf = function (unit) { return 'y' + units.indexOf(unit || null); };
    var scales = {
      x: {
        time: true,
        // With one time on the axis (just after a reset) uPlot spans "a day" in milliseconds,
        // which on an axis in seconds is 1000 days, so the axis showed years. A few periods
        // either side of the point keep it in times of day.
        range: function (u, min, max) {
          var xs = u.data[0];
          if (xs.length > 0 && xs[0] === xs[xs.length - 1]) {
            return [xs[0] - 3 * period, xs[0] + 3 * period];
          }
          return [min, max];
        },
      },
    };
    var axes = [Object.assign({}, axis, {
      // Ticks in UTC: seconds only when a tick falls between whole minutes.
      values: function (u, ticks) {
        var seconds = ticks.some(function (tick) { return tick % 60 !== 0; });
        return ticks.map(function (tick) { return formatClock(tick, seconds); });
      },
    })];
    units.forEach(function (unit, i) {
      scales[scaleOf(unit)] = { auto: true };
      axes.push(Object.assign({}, axis, {
        scale: scaleOf(unit),
        side: i % 2 === 0 ? 3 : 1,
        grid: Object.assign({}, axis.grid, { show: i === 0 }),
        size: axisSize,
        values: function (u, ticks) { return ticks.map(function (tick) { return formatValue(tick, unit); }); },
      }));
    });
    var options = {
      width: Math.max(container.clientWidth, 200),
      height: height,
      scales: scales,
      axes: axes,
      // uPlot places time ticks on round times of the zone tzDate gives; pipeline time is UTC.
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      // Without a pointer on the chart, the legend shows each series' newest value.
      series: [{
        label: 'Pipeline time (UTC)',
        value: function (u, v, si, idx) { return idx === null || v === null ? 'latest' : formatClock(v, v % 60 !== 0); },
      }].concat(widget.series.map(function (s, i) {
        return {
          label: s.label,
          scale: scaleOf(s.unit),
          stroke: palette[i % palette.length],
          width: 2,
          spanGaps: false, // a period without data is a gap, not a straight line
          points: { fill: surface },
          value: function (u, v, si, idx) { return formatValue(idx === null ? lastValue(u.data[si]) : v, s.unit); },
        };
      })),
    };
    var plot = new window.uPlot(options, data, container);
    var lastWidth = container.clientWidth;
    var observer = new ResizeObserver(function () {
      var width = container.clientWidth;
      if (width > 0 && width !== lastWidth) {
        lastWidth = width;
        plot.setSize({ width: width, height: height });
      }
    });
    observer.observe(container);
    drawn.add({ element: element, plot: plot, observer: observer });
  }

  /** Draws one widget element, from `widget` if given, else from its JSON. */
  function drawChart(element, widget) {
    var load = widget ? Promise.resolve(widget) : loadWidget(element);
    return load.then(function (w) {
      var series = (Array.isArray(w.series) ? w.series : []).map(function (s) {
        return Object.assign({ timestamps: [], values: [], latest: null }, s);
      });
      var empty = series.every(function (s) { return s.latest === null && s.timestamps.length === 0; });
      if (w.view !== 'singleValue' && !empty && typeof window.uPlot !== 'function') {
        return; // uPlot did not load: the fallback stays
      }
      forget(element);
      w = Object.assign({}, w, { series: series });
      var container = plotContainer(element, w);
      if (empty) {
        container.className = 'chart__plot chart__empty';
        container.removeAttribute('role');
        container.removeAttribute('aria-label');
        container.textContent = 'No data yet.';
      } else if (w.view === 'singleValue') {
        drawSingleValues(container, w);
      } else {
        drawTimeSeries(element, container, w);
      }
    }).catch(function (error) {
      // The fallback content stays; the console says why the chart is missing.
      console.warn('chaoslab: cannot draw chart', element, error);
    });
  }

  /** Draws every `[data-chart]` element in `root` (and `root` itself). */
  function drawCharts(root) {
    root = root || document;
    var elements = Array.from(root.querySelectorAll('[data-chart]'));
    if (root.matches && root.matches('[data-chart]')) elements.unshift(root);
    return Promise.all(elements.map(function (element) { return drawChart(element); }));
  }

  /** The uPlot chart drawn in `element`, if any: for the browser tests and the console. */
  function plotOf(element) {
    var found = null;
    drawn.forEach(function (chart) { if (chart.element === element) found = chart.plot; });
    return found;
  }

  window.chaoslab = { drawCharts: drawCharts, drawChart: drawChart, plotOf: plotOf };

  /** Shows the notes saying a part of the page refreshes itself: htmx does that, if it loaded. */
  function showRefreshNotes(root) {
    if (!window.htmx) return;
    root.querySelectorAll('[data-refresh-note][hidden]').forEach(function (note) { note.hidden = false; });
  }

  function start() {
    showRefreshNotes(document);
    drawCharts(document);
    // htmx swaps in new widget JSON (live updates); draw it once the new content has settled.
    document.body.addEventListener('htmx:afterSettle', function (event) {
      var target = event.detail && event.detail.elt;
      drawCharts(target && target.isConnected ? target : document);
    });
    // Colours come from the stylesheet, which changes with the light/dark preference.
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', function () {
      drawCharts(document);
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
