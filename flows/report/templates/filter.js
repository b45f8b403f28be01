// Channel filter: rows and cards carry data-channels; plotly traces carry meta.channel.
(function () {
  var select = document.getElementById("channel-filter");
  function apply(channel) {
    document.querySelectorAll("[data-channels]").forEach(function (el) {
      var list = (el.getAttribute("data-channels") || "").split(" ");
      el.hidden = channel !== "all" && list.indexOf(channel) < 0;
    });
    document.querySelectorAll("[data-by-channel]").forEach(function (el) {
      var counts = JSON.parse(el.getAttribute("data-by-channel"))[channel] || [0, 0];
      el.querySelector(".vol").textContent = counts[0];
      el.querySelector(".negn").textContent = counts[1];
    });
    document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      var index = [], visible = [];
      (gd.data || []).forEach(function (trace, i) {
        if (trace.meta && trace.meta.channel) {
          index.push(i);
          visible.push(trace.meta.channel === channel);
        }
      });
      if (index.length && window.Plotly) { Plotly.restyle(gd, {visible: visible}, index); }
    });
  }
  if (select) { select.addEventListener("change", function () { apply(select.value); }); }
  window.vocApplyChannel = apply;
})();
