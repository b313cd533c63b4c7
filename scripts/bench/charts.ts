/**
 * The benchmark's pictures: small self-contained SVG files written beside docs/benchmarks.md, so a
 * reader sees each result before reading its table. No chart library and no external service: two
 * chart shapes, grouped bars and cumulative distributions, are all the report needs.
 */

const WIDTH = 640;
const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', sans-serif"`;
/** Colour-blind-safe (Okabe–Ito). */
export const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"] as const;

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** A round upper bound for an axis, and its tick step. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  return { top: Math.ceil(max / step) * step, step };
}

function legend(series: { label: string; colour: string }[], x: number, y: number): string {
  let offset = 0;
  return series
    .map(({ label, colour }) => {
      const item = `<rect x="${x + offset}" y="${y - 9}" width="10" height="10" fill="${colour}"/><text x="${x + offset + 14}" y="${y}" font-size="11">${escapeXml(label)}</text>`;
      offset += 26 + label.length * 6.6;
      return item;
    })
    .join("");
}

export type BarPanel = {
  title: string;
  unit: string;
  /** One value per group per series; `null` leaves the bar out. */
  values: (number | null)[][];
  /** A horizontal line per group (a target), optional. */
  targets?: (number | null)[];
  targetLabel?: string;
};

/**
 * Grouped bars, one panel per measure side by side: `groups` along the x axis (e.g. connections),
 * one bar per series (e.g. baseline, receiver) in each group, the value written on each bar.
 */
export function groupedBars(options: {
  title: string;
  groups: string[];
  series: string[];
  panels: BarPanel[];
  note?: string;
}): string {
  const { groups, series, panels } = options;
  const height = 300;
  const top = 58;
  const bottom = height - 52;
  const panelWidth = (WIDTH - 20) / panels.length;
  const colours = series.map((_, i) => COLOURS[i % COLOURS.length] as string);
  const parts: string[] = [];
  panels.forEach((panel, p) => {
    const left = 10 + p * panelWidth + 46;
    const right = 10 + (p + 1) * panelWidth - 12;
    const all = [...panel.values.flat(), ...(panel.targets ?? [])].filter((v): v is number => v !== null);
    const { top: max, step } = niceScale(Math.max(...all, 0) * 1.1);
    const y = (v: number) => bottom - (v / max) * (bottom - top);
    parts.push(
      `<text x="${(left + right) / 2}" y="${top - 12}" font-size="12" font-weight="600" text-anchor="middle">${escapeXml(panel.title)}</text>`,
    );
    for (let tick = 0; tick <= max + 1e-9; tick += step) {
      parts.push(
        `<line x1="${left}" x2="${right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/><text x="${left - 4}" y="${y(tick) + 4}" font-size="10" text-anchor="end" fill="#555">${Math.round(tick * 100) / 100}</text>`,
      );
    }
    parts.push(
      `<text x="${left - 36}" y="${(top + bottom) / 2}" font-size="10" fill="#555" transform="rotate(-90 ${left - 36} ${(top + bottom) / 2})" text-anchor="middle">${escapeXml(panel.unit)}</text>`,
    );
    const groupWidth = (right - left) / groups.length;
    const barWidth = Math.min(34, (groupWidth - 16) / series.length);
    groups.forEach((group, g) => {
      const start = left + g * groupWidth + (groupWidth - barWidth * series.length) / 2;
      series.forEach((_, s) => {
        const value = panel.values[g]?.[s];
        if (value === null || value === undefined) return;
        const x = start + s * barWidth;
        parts.push(
          `<rect x="${x + 1}" y="${y(value)}" width="${barWidth - 2}" height="${bottom - y(value)}" fill="${colours[s]}"/><text x="${x + barWidth / 2}" y="${y(value) - 3}" font-size="9" text-anchor="middle">${value >= 100 ? Math.round(value) : Math.round(value * 10) / 10}</text>`,
        );
      });
      const target = panel.targets?.[g];
      if (target !== null && target !== undefined) {
        const x0 = left + g * groupWidth + 4;
        parts.push(
          `<line x1="${x0}" x2="${x0 + groupWidth - 8}" y1="${y(target)}" y2="${y(target)}" stroke="#333" stroke-dasharray="4 3"/>`,
        );
      }
      parts.push(
        `<text x="${left + (g + 0.5) * groupWidth}" y="${bottom + 14}" font-size="11" text-anchor="middle">${escapeXml(group)}</text>`,
      );
    });
    parts.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  });
  const legendItems = series.map((label, i) => ({ label, colour: colours[i] as string }));
  const hasTargets = panels.some((p) => p.targets?.some((t) => t !== null));
  const targetLabel = panels.find((p) => p.targetLabel)?.targetLabel ?? "target";
  const legendWidth = legendItems.reduce((sum, item) => sum + 26 + item.label.length * 6.6, 0);
  return svg(
    options.title,
    height,
    [
      `<text x="${WIDTH / 2}" y="20" font-size="14" font-weight="600" text-anchor="middle">${escapeXml(options.title)}</text>`,
      ...parts,
      legend(legendItems, 20, height - 22),
      hasTargets
        ? `<line x1="${20 + legendWidth}" x2="${44 + legendWidth}" y1="${height - 26}" y2="${height - 26}" stroke="#333" stroke-dasharray="4 3"/><text x="${48 + legendWidth}" y="${height - 22}" font-size="11">${escapeXml(targetLabel)}</text>`
        : "",
      options.note
        ? `<text x="${WIDTH / 2}" y="${height - 6}" font-size="10" fill="#555" text-anchor="middle">${escapeXml(options.note)}</text>`
        : "",
    ].join(""),
  );
}

/**
 * Cumulative distributions: for each series, the share of trials (y) done within a time (x), so the
 * median and the tail read straight off the picture. A vertical line marks the target.
 */
export function cumulative(options: {
  title: string;
  unit: string;
  series: { label: string; values: number[] }[];
  target?: { value: number; label: string };
  note?: string;
}): string {
  const height = 300;
  const left = 56;
  const right = WIDTH - 20;
  const top = 40;
  const bottom = height - 60;
  const all = options.series.flatMap((s) => s.values);
  const { top: max, step } = niceScale(Math.max(...all, options.target?.value ?? 0, 1) * 1.02);
  const x = (v: number) => left + (v / max) * (right - left);
  const y = (share: number) => bottom - share * (bottom - top);
  const parts: string[] = [
    `<text x="${WIDTH / 2}" y="20" font-size="14" font-weight="600" text-anchor="middle">${escapeXml(options.title)}</text>`,
  ];
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${left}" x2="${right}" y1="${y(share)}" y2="${y(share)}" stroke="${share === 0.5 ? "#bbb" : "#eee"}"/><text x="${left - 4}" y="${y(share) + 4}" font-size="10" text-anchor="end" fill="#555">${Math.round(share * 100)} %</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${right}" y1="${y(0.95)}" y2="${y(0.95)}" stroke="#bbb" stroke-dasharray="2 3"/><text x="${right}" y="${y(0.95) - 3}" font-size="10" text-anchor="end" fill="#555">p95</text>`,
  );
  for (let tick = 0; tick <= max + 1e-9; tick += step) {
    parts.push(
      `<line x1="${x(tick)}" x2="${x(tick)}" y1="${bottom}" y2="${bottom + 4}" stroke="#333"/><text x="${x(tick)}" y="${bottom + 16}" font-size="10" text-anchor="middle" fill="#555">${Math.round(tick)}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
    `<text x="${(left + right) / 2}" y="${bottom + 32}" font-size="11" text-anchor="middle">${escapeXml(options.unit)}</text>`,
    `<text x="14" y="${(top + bottom) / 2}" font-size="10" fill="#555" transform="rotate(-90 14 ${(top + bottom) / 2})" text-anchor="middle">share of trials done</text>`,
  );
  if (options.target) {
    parts.push(
      `<line x1="${x(options.target.value)}" x2="${x(options.target.value)}" y1="${top}" y2="${bottom}" stroke="#333" stroke-dasharray="4 3"/><text x="${x(options.target.value) - 4}" y="${top + 10}" font-size="10" text-anchor="end">${escapeXml(options.target.label)}</text>`,
    );
  }
  options.series.forEach((series, i) => {
    const sorted = [...series.values].sort((a, b) => a - b);
    if (sorted.length === 0) return;
    const colour = COLOURS[i % COLOURS.length];
    let path = `M ${x(0)} ${y(0)}`;
    sorted.forEach((value, k) => {
      path += ` H ${x(value)} V ${y((k + 1) / sorted.length)}`;
    });
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
  });
  parts.push(
    legend(
      options.series.map((s, i) => ({ label: s.label, colour: COLOURS[i % COLOURS.length] as string })),
      20,
      height - 10,
    ),
  );
  if (options.note) {
    parts.push(
      `<text x="${right}" y="${top + 40}" font-size="10" fill="#555" text-anchor="end">${escapeXml(options.note)}</text>`,
    );
  }
  return svg(options.title, height, parts.join(""));
}

/** `title` is the picture's text alternative (its `<title>`), for screen readers and link previews. */
function svg(title: string, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}><title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`;
}
