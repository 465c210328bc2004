/* Draws the charts of a page with Chartist (static/vendor/chartist, see its README.md).
 *
 * Each <figure class="chart"> holds its figures twice: as a table, which is what a reader gets
 * without JavaScript, and as a JSON block (hub/charts.py) that this script draws. Every text in
 * the JSON (axis labels, values, dates) is already formatted in the page's language by the
 * server, so nothing is formatted here. Once a chart is drawn its table folds away into its
 * <details>, one click from the reader; if anything fails, the table simply stays open.
 */
(function () {
  "use strict";
  var Chartist = window.Chartist;
  if (!Chartist || !document.querySelector) {
    return;
  }

  // Chartist writes a style attribute on its <svg>, which the Content-Security-Policy (no
  // 'unsafe-inline') refuses. The same declarations set through the CSSOM are allowed.
  var setAttributes = Chartist.Svg.prototype.attr;
  Chartist.Svg.prototype.attr = function (attributes, ns) {
    if (attributes && typeof attributes === "object" && "style" in attributes) {
      var rest = {};
      Object.keys(attributes).forEach(function (key) {
        if (key === "style") {
          this._node.style.cssText = attributes.style;
        } else {
          rest[key] = attributes[key];
        }
      }, this);
      attributes = rest;
    }
    return setAttributes.call(this, attributes, ns);
  };

  var SVG = "http://www.w3.org/2000/svg";

  function addText(group, x, y, text, anchor) {
    var node = document.createElementNS(SVG, "text");
    node.setAttribute("x", x);
    node.setAttribute("y", y);
    node.setAttribute("class", "chart-value");
    node.setAttribute("text-anchor", anchor || "middle");
    node.textContent = text;
    group.getNode().appendChild(node);
  }

  function lookup(pairs) {
    var labels = {};
    pairs.forEach(function (pair) {
      labels[pair[0]] = pair[1];
    });
    return function (value) {
      return labels[value] === undefined ? "" : labels[value];
    };
  }

  // A line that holds its value until the next change: members over time. Each change has a
  // marker, labelled with its value when there are few enough to read; the last always is.
  function drawSteps(canvas, figures) {
    var series = figures.series[0];
    var points = figures.x.map(function (x, i) {
      return { x: x, y: series.values[i] };
    });
    // The line runs on to today at the last value.
    var line = points.concat([{ x: figures.x_range[1], y: points[points.length - 1].y }]);
    var yTicks = figures.y_ticks.map(function (t) { return t[0]; });
    // A year label needs about 56 pixels: on a narrow screen only every second or third year
    // is labelled, counted back from the latest.
    var every = Math.max(1, Math.ceil(figures.x_ticks.length * 56 / (canvas.clientWidth || 320)));
    var xTicks = figures.x_ticks.filter(function (t, i) {
      return (figures.x_ticks.length - 1 - i) % every === 0;
    });
    var chart = new Chartist.LineChart(canvas, {
      series: [{ name: series.name, className: "ct-series-" + series.look, data: line }]
    }, {
      height: "240px",
      lineSmooth: Chartist.Interpolation.step(),
      showArea: true,
      showPoint: false, // the step's corners would get markers too: the changes get them below
      chartPadding: { top: 24, right: 24, bottom: 0, left: 0 },
      axisX: {
        type: Chartist.FixedScaleAxis,
        low: figures.x_range[0],
        high: figures.x_range[1],
        ticks: xTicks.map(function (t) { return t[0]; }),
        labelInterpolationFnc: lookup(figures.x_ticks)
      },
      axisY: {
        type: Chartist.FixedScaleAxis,
        low: 0,
        high: yTicks[yTicks.length - 1],
        ticks: yTicks,
        labelInterpolationFnc: lookup(figures.y_ticks),
        offset: 48
      }
    });
    chart.on("created", function (data) {
      var group = data.svg.elem("g", {}, "chart-markers");
      points.forEach(function (point, i) {
        var x = data.chartRect.x1 + data.axisX.projectValue(point);
        var y = data.chartRect.y1 - data.axisY.projectValue(point);
        group.elem("circle", { cx: x, cy: y, r: 5 }, "chart-marker");
        if (points.length <= 10 || i === points.length - 1) {
          addText(group, x, y - 10, series.labels[i], "middle");
        }
      });
    });
    return chart;
  }

  // Bars, upright ("bars") or lying ("rows"), each labelled with its value at its end.
  function drawBars(canvas, figures) {
    var rows = figures.kind === "rows";
    var count = figures.series.length;
    var narrow = canvas.clientWidth < 480;
    var series = figures.series.map(function (s) {
      return { name: s.name, className: "ct-series-" + s.look, data: s.values };
    });
    var chart = new Chartist.BarChart(canvas, { labels: figures.categories, series: series }, {
      height: rows ? (figures.categories.length * (count * 22 + 18) + 40) + "px" : "240px",
      horizontalBars: rows,
      reverseData: rows, // the first category on top, as in the table
      seriesBarDistance: rows ? 22 : 30,
      chartPadding: { top: 24, right: 48, bottom: 0, left: 0 },
      axisX: rows ? { onlyInteger: true, showLabel: false, offset: 8 } : { showGrid: false, offset: 44 },
      axisY: rows ? { offset: narrow ? 110 : 200, showGrid: false } : { onlyInteger: true, showLabel: false }
    });
    chart.on("draw", function (data) {
      if (data.type !== "bar") {
        return;
      }
      // With reverseData Chartist counts series and values from the end: find them by identity.
      var labels = figures.series[series.indexOf(data.series)].labels;
      var label = labels[rows ? figures.categories.length - 1 - data.index : data.index];
      if (rows) {
        addText(data.group, data.x2 + 6, data.y2 + 4, label, "start");
      } else {
        addText(data.group, data.x2, data.y2 - 6, label, "middle");
      }
    });
    return chart;
  }

  function draw(figure) {
    var canvas = figure.querySelector(".chart-canvas");
    var figures = JSON.parse(figure.querySelector(".chart-figures").textContent);
    canvas.hidden = false;
    var chart = figures.kind === "steps" ? drawSteps(canvas, figures) : drawBars(canvas, figures);
    chart.on("created", function () {
      // The drawing repeats the table, which stays one click away for everyone. Chartist draws
      // again on every resize: the table is folded only the first time, not after a reader
      // opened it.
      canvas.querySelector("svg").setAttribute("aria-hidden", "true");
      if (!figure.classList.contains("chart-drawn")) {
        figure.querySelector(".chart-table").open = false;
        figure.classList.add("chart-drawn");
      }
    });
  }

  function drawSafely(figure) {
    try {
      draw(figure);
    } catch (error) {
      figure.querySelector(".chart-canvas").hidden = true;
      if (window.console) {
        window.console.error(error);
      }
    }
  }

  // Each chart is drawn as it comes near the screen, in a task of its own: a page's charts
  // below the fold cost nothing while it loads, and no single task draws them all (a phone
  // stayed unresponsive for 300 ms drawing a home page's charts at once).
  function drawAll() {
    var figures = document.querySelectorAll("figure.chart");
    if (!window.IntersectionObserver) {
      Array.prototype.forEach.call(figures, drawSafely);
      return;
    }
    var observer = new window.IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          window.setTimeout(drawSafely, 0, entry.target);
        }
      });
    }, { rootMargin: "200px 0px" });
    Array.prototype.forEach.call(figures, function (figure) {
      observer.observe(figure);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
