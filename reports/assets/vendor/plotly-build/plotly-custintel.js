'use strict';

// The trace types the custintel report site draws (reports/components/charts.py):
// bar, heatmap and scatter (lines, markers, stacked areas). plotly.js's core registers
// scatter and the components (legend, hover, colour bar, modebar...) itself.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/scatter')
]);

module.exports = Plotly;
