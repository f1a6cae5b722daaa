// Flexoki palettes (https://stephango.com/flexoki). Hue encodes cluster identity only; interaction state is drawn
// with stroke, size and opacity. Light mode uses the darker accent tones on paper, dark mode the lighter ones.

const ACCENTS = {
  // hue: [tone 600, tone 400, tone 800, tone 200]
  red: ['#AF3029', '#D14D41', '#6C201C', '#F89A8A'],
  orange: ['#BC5215', '#DA702C', '#71320D', '#F9AE77'],
  yellow: ['#AD8301', '#D0A215', '#664D01', '#ECCB60'],
  green: ['#66800B', '#879A39', '#3D4C07', '#BEC97E'],
  cyan: ['#24837B', '#3AA99F', '#164F4A', '#87D3C3'],
  blue: ['#205EA6', '#4385BE', '#1A3A64', '#92BFDB'],
  purple: ['#5E409D', '#8B7EC8', '#3C2A62', '#C4B9E0'],
  magenta: ['#A02F6F', '#CE5D97', '#641F46', '#F4A4C2'],
}
// Order hues so neighbouring cluster ids get distant hues.
const HUE_ORDER = ['blue', 'orange', 'green', 'magenta', 'cyan', 'red', 'purple', 'yellow']

function build(tones) {
  return tones.flatMap((t) => HUE_ORDER.map((h) => ACCENTS[h][t]))
}

export const THEMES = {
  light: {
    name: 'light',
    clusters: build([0, 2, 1]),
    noise: '#B7B5AC',
    background: '#FFFCF0',
    text: '#100F0F',
    muted: '#6F6E69',
    stroke: '#100F0F',
    ramp: ['#E6E4D9', '#205EA6'],
  },
  dark: {
    name: 'dark',
    clusters: build([1, 3, 0]),
    noise: '#575653',
    background: '#100F0F',
    text: '#CECDC3',
    muted: '#878580',
    stroke: '#FFFCF0',
    ramp: ['#282726', '#66A0C8'],
  },
}

export function currentTheme() {
  return THEMES[document.documentElement.dataset.theme] || THEMES.light
}

export function setTheme(name) {
  document.documentElement.dataset.theme = name
  localStorage.setItem('ls-theme', name)
}

export function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255]
}

// A cluster's slot in the palette: its id, unless the scope's clusters carry a `colour` (a refresh gives a cluster
// that is an earlier one that one's slot, so a topic keeps its colour across versions).
let slots = new Map()

/** Take the colour slots of the scope's clusters (call once per scope shown). */
export function useColourSlots(clusters) {
  slots = new Map(clusters.filter((c) => Number.isInteger(c.colour)).map((c) => [c.cluster, c.colour]))
}

/** The colour of a cluster: the same function feeds the map, hulls, the topic list, search results and chips. */
export function clusterColor(theme, cluster, noise = false) {
  if (noise || cluster < 0) return theme.noise
  return theme.clusters[(slots.get(cluster) ?? cluster) % theme.clusters.length]
}

export function rampColor(theme, t) {
  const a = hexToRgb(theme.ramp[0])
  const b = hexToRgb(theme.ramp[1])
  const u = Math.max(0, Math.min(1, t))
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * u))
}
