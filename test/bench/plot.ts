/**
 * Plots for the benchmarks: a Vega-Lite chart rendered headless to SVG next to the JSON results.
 * Every benchmark draws through this one function so the charts look alike.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface PlotSeries {
  name: string;
  /** [x, y] pairs; for a bar chart x is the category. */
  points: Array<[number | string, number]>;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  kind?: 'line' | 'bar';
  /** Log scale on the y axis (latencies spanning orders of magnitude). */
  logY?: boolean;
  /** A vertical rule at this x, labelled (e.g. the default threshold). */
  markX?: { value: number; label: string };
}

/** Renders the chart and writes `bench-results/<file>` (an .svg name); returns the path. */
export async function writePlot(file: string, spec: PlotSpec): Promise<string> {
  const kind = spec.kind ?? 'line';
  const values = spec.series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y })));
  const xType = kind === 'bar' ? 'nominal' : 'quantitative';
  const main = {
    mark: kind === 'bar' ? { type: 'bar' } : { type: 'line', point: true },
    encoding: {
      // Categories keep the order of the points rather than sorting alphabetically ("batch 32" before "batch 8").
      x: {
        field: 'x',
        type: xType,
        title: spec.xLabel,
        ...(kind === 'line' ? { scale: { zero: false } } : { sort: null, axis: { labelLimit: 0 } }),
      },
      y: { field: 'y', type: 'quantitative', title: spec.yLabel, ...(spec.logY ? { scale: { type: 'log' } } : {}) },
      color: { field: 'series', type: 'nominal', title: null, sort: null, legend: { labelLimit: 0 } },
      ...(kind === 'bar' ? { xOffset: { field: 'series', sort: null } } : {}),
    },
  };
  const layers: unknown[] = [main];
  if (spec.markX) {
    layers.push({
      data: { values: [{ x: spec.markX.value, label: spec.markX.label }] },
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
        {
          mark: { type: 'text', align: 'left', dx: 4, dy: -4, color: 'gray' },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
        },
      ],
    });
  }
  const topLevel = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: spec.title,
    width: 560,
    height: 320,
    background: 'white',
    data: { values },
    layer: layers,
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(topLevel).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const dir = resolve('bench-results');
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, file);
  writeFileSync(path, svg);
  console.log(`wrote ${path}`);
  return path;
}
