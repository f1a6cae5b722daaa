// The timeline under the map, for a dataset with a date column (an X archive's created_at): the rows per interval
// under the filters (the facets route's date histogram), a brush that keeps a range, and playback: a window moving
// through time on the map at 1x, 2x or 4x, which pauses, and becomes a filter in one click.
import * as api from '../api.js'
import { h, clear, fmt } from '../dom.js'
import { label, renderFacet } from '../facet-charts.js'
import { Playback } from '../playback.js'
import { isFiltered } from '../state.js'
import { currentTheme } from '../theme.js'
import * as filters from './filters.js'
import { applyMapStyle } from './map-style.js'

const BINS = 80
const SWEEP_SECONDS = 24 // a whole sweep at 1x
const WINDOW_SHARE = 1 / 12 // of the time extent
const SPEEDS = [1, 2, 4]

export function dateColumns(meta) {
  return meta.columns.filter((c) => meta.column_metadata?.[c]?.type === 'date')
}

/** The column the timeline shows: the one in the URL, else the dataset's first date column (null: none). */
export function timeColumn(view) {
  const dates = dateColumns(view.data.meta)
  return dates.includes(view.state.time) ? view.state.time : dates[0] || null
}

export function buildTimeline(view) {
  const dates = dateColumns(view.data.meta)
  const el = { root: h('section.timeline', { hidden: !dates.length, dataset: { testid: 'timeline' } }) }
  if (!dates.length) return el
  el.chart = h('div.timeline-chart')
  el.play = h('button.mini', { dataset: { testid: 'play' }, on: { click: () => togglePlay(view) } }, '▶ Play')
  el.speed = h(
    'select',
    { 'aria-label': 'Playback speed', dataset: { testid: 'speed' } },
    SPEEDS.map((s) => h('option', { value: String(s) }, `${s}x`)),
  )
  el.window = h('span.muted.window', { dataset: { testid: 'time-window' } })
  el.keep = h(
    'button.mini',
    { hidden: true, dataset: { testid: 'keep-window' }, on: { click: () => keepWindow(view) } },
    'Filter to window',
  )
  el.stop = h('button.mini', { hidden: true, 'aria-label': 'Stop playback', on: { click: () => stop(view) } }, '■')
  const column = h(
    'select',
    {
      'aria-label': 'Time column',
      hidden: dates.length < 2,
      on: { change: (e) => view.setTimeColumn(e.target.value) },
    },
    dates.map((c) => h('option', { value: c, selected: c === timeColumn(view) }, c)),
  )
  const colour = h(
    'button.mini',
    { title: 'Colour the points by time', on: { click: () => view.changeColor(timeColumn(view)) } },
    'Colour by time',
  )
  el.root.append(
    h('div.timeline-bar', {}, h('strong', {}, 'Time'), column, el.play, el.speed, el.stop, el.keep, el.window, colour),
    el.chart,
  )
  return el
}

export async function loadTimeline(view) {
  const column = timeColumn(view)
  if (!column) return false
  const token = ++view.tokens.timeline
  const body = { ...api.filterBody(view.state.filters, view.ui.matching), column: [column], bins: BINS }
  if (isFiltered(view.state.filters)) body.baseline = 'scope'
  const answer = await api.getFacets(view.data.dataset, view.data.scope, body)
  if (token !== view.tokens.timeline) return false
  view.ui.timeline = answer.facets[0]
  return true
}

export function renderTimeline(view) {
  const { el } = view.timeline
  const facet = view.ui.timeline
  if (!facet || !el.chart) return
  const f = view.state.filters
  const width = Math.max(200, el.chart.clientWidth || el.root.clientWidth - 20 || 600)
  const chart = renderFacet(facet, {
    picked: { values: [], nulls: false, range: filters.pickedRange(f, facet.column) },
    label: (v) => ({ text: String(v), swatch: null }),
    on: {
      range: (r) => view.setFilters(filters.withRange(view.state.filters, facet.column, r)),
      clear: () => view.setFilters(filters.withoutColumn(view.state.filters, facet.column)),
      value: () => {},
      nulls: () => {},
    },
    width,
    histHeight: 44,
  })
  clear(el.chart).append(chart)
  el.svg = chart.querySelector('svg')
  drawWindow(view)
}

/** For bench/explore_playback.py: milliseconds of one playback frame with the window at `fraction` of the time extent,
 * until the GPU has drawn it. naive: every point recoloured with the window as its mask and all of them drawn, the
 * way a filter dims the map (what playback would cost without the sorted window and the density context). */
export async function benchFrame(view, fraction, naive = false) {
  const tl = view.timeline
  if (!tl.playback) {
    const points = await api.getPoints(view.data.dataset, view.data.scope, timeColumn(view))
    tl.playback = new Playback(view.map, points.color, currentTheme())
  }
  const [start, end] = tl.playback.extent
  const from = start + fraction * (end - start) * (1 - WINDOW_SHARE)
  const to = from + (end - start) * WINDOW_SHARE
  const t = performance.now()
  if (naive) {
    tl.playback.stop() // every point drawn again
    applyMapStyle(view)
    const times = tl.playback.pointTimes
    view.map.setMask(Uint8Array.from(times, (v) => (v >= from && v < to ? 1 : 0)))
  } else {
    tl.playback.show(from, to)
  }
  view.map.timeRedraw()
  return performance.now() - t
}

function togglePlay(view) {
  const tl = view.timeline
  if (tl.playing) return pause(view)
  view.guarded(() => play(view))
}

async function play(view) {
  const tl = view.timeline
  const facet = view.ui.timeline
  if (!facet?.buckets.length) return
  if (!tl.playback) {
    const column = timeColumn(view)
    // Each point's time, in the map's point order: the points route's colour column of a date (epoch seconds).
    const points = await api.getPoints(view.data.dataset, view.data.scope, column)
    tl.playback = new Playback(view.map, points.color, currentTheme())
  }
  const [start, end] = [Date.parse(facet.buckets[0].start) / 1000, Date.parse(facet.buckets.at(-1).end) / 1000]
  const width = Math.max((end - start) * WINDOW_SHARE, (end - start) / facet.buckets.length)
  if (!tl.window || tl.window[1] >= end) tl.window = [start, start + width]
  tl.playing = { last: performance.now(), start, end, width }
  setButtons(view)
  const step = (now) => {
    const playing = tl.playing
    if (!playing) return
    const speed = Number(tl.el.speed.value) || 1
    const advance = (((now - playing.last) / 1000) * speed * (end - start)) / SWEEP_SECONDS
    playing.last = now
    const from = Math.min(tl.window[0] + advance, end - width)
    tl.window = [from, from + width]
    showWindow(view)
    if (from >= end - width) return pause(view) // the end: the window stays there
    requestAnimationFrame(step)
  }
  showWindow(view)
  requestAnimationFrame(step)
}

function showWindow(view) {
  const tl = view.timeline
  const shown = tl.playback.show(tl.window[0], tl.window[1])
  view.el.mapWrap.dataset.playback = String(shown)
  drawWindow(view)
}

function pause(view) {
  view.timeline.playing = null
  setButtons(view)
}

/** Ends a playback (and forgets its points: the filters or colours they were sorted under may change). */
export function stop(view) {
  const tl = view.timeline
  if (!tl?.playback) return
  tl.playing = null
  tl.playback.stop()
  applyMapStyle(view) // the density, which the playback's context replaced
  tl.playback = null
  tl.window = null
  delete view.el.mapWrap.dataset.playback
  setButtons(view)
  drawWindow(view)
}

function keepWindow(view) {
  const tl = view.timeline
  if (!tl.window) return
  const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z')
  const range = [iso(tl.window[0]), iso(tl.window[1])]
  stop(view)
  view.setFilters(filters.withRange(view.state.filters, timeColumn(view), range))
}

function setButtons(view) {
  const { el, playing, playback } = view.timeline
  el.play.textContent = playing ? '❚❚ Pause' : '▶ Play'
  el.play.setAttribute('aria-pressed', String(!!playing))
  el.stop.hidden = !playback
  el.keep.hidden = !playback || !!playing
}

/** The window over the histogram, and its dates beside the controls. */
function drawWindow(view) {
  const tl = view.timeline
  const facet = view.ui.timeline
  const svg = tl.el.svg
  svg?.querySelector('rect.window')?.remove()
  if (!tl.window || !facet?.buckets.length || !svg) {
    if (tl.el.window) tl.el.window.textContent = ''
    return
  }
  const start = Date.parse(facet.buckets[0].start) / 1000
  const end = Date.parse(facet.buckets.at(-1).end) / 1000
  const width = Number(svg.getAttribute('width'))
  const x = ((tl.window[0] - start) / (end - start)) * width
  const w = ((tl.window[1] - tl.window[0]) / (end - start)) * width
  const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect')
  Object.entries({ x, y: 0, width: Math.max(2, w), height: svg.getAttribute('height'), class: 'window' }).forEach(
    ([k, v]) => rect.setAttribute(k, String(v)),
  )
  svg.append(rect)
  const iso = (s) => new Date(s * 1000).toISOString()
  const shown = view.el.mapWrap.dataset.playback
  tl.el.window.textContent = `${label(facet, iso(tl.window[0]))} – ${label(facet, iso(tl.window[1]))}${
    shown ? ` · ${fmt(Number(shown))} points` : ''
  }`
}
