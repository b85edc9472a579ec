// Builds plotly-custintel-<plotly.js version>.min.js from plotly-custintel.js with the settings
// of plotly.js's own bundles (its esbuild-config.js and tasks/partial_bundle.mjs, which the npm
// package does not ship): an IIFE defining the global `Plotly`, minified, no source map, the
// attribute descriptions stripped, plotly's licence header. Usage: node build.mjs [outfile]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const version = require('plotly.js/package.json').version;
const outfile = process.argv[2] || `plotly-custintel-${version}.min.js`;
// the year plotly's dist headers of this release name ("Copyright 2012-2026")
const copyrightYear = 2026;

// plotly.js's compress_attributes step: descriptions and other schema-only text of the
// attribute definitions (read by Plotly.PlotSchema, never by a chart)
const schemaText = [
    /\s*description: '.*',?/g,
    /\s*description: \[[\s\S]*?\]\.join\([\s\S]*?\),?/g,
    /\s*requiredOpts: \[[\s\S]*?\],?/g,
    /\s*otherOpts: \[[\s\S]*?\],?/g,
    /\s*role: '.*',?/g,
    /\s*hrName: '.*',?/g,
];
const stripSchemaText = {
    name: 'strip-schema-text',
    setup(b) {
        b.onLoad({ filter: /[\\/]plotly\.js[\\/]src[\\/].*\.js$/ }, (file) => ({
            contents: schemaText.reduce((code, pattern) => code.replace(pattern, ''),
                                        readFileSync(file.path, 'utf-8')),
            loader: 'js',
        }));
    },
};

await build({
    entryPoints: ['plotly-custintel.js'],
    outfile,
    bundle: true,
    format: 'iife',
    globalName: 'Plotly',
    minify: true,
    sourcemap: false,
    target: 'es2016',
    define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
    alias: { stream: 'stream-browserify' },
    loader: { '.css': 'empty' },  // maplibre-gl's stylesheet: map traces only, not in this bundle
    plugins: [stripSchemaText],
    banner: { js: `/**\n* plotly.js (custintel: bar, heatmap, scatter - minified) v${version}\n`
                  + `* Copyright 2012-${copyrightYear}, Plotly, Inc.\n* All rights reserved.\n`
                  + '* Licensed under the MIT license\n*/' },
    logLevel: 'info',
});
