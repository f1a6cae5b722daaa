// The map's style controls: the density layer (density-layer.js; on by default from DENSITY_DEFAULT_MIN points, where
// points alone are a uniform haze), the points' size and their opacity. Kept in the URL when not the defaults.
import { boundsOf, contourImage, densityGrid, densityImage, densityLayer } from '../density-layer.js'
import { h } from '../dom.js'
import { exploreUrl } from '../state.js'
import { currentTheme } from '../theme.js'

export const DENSITY_DEFAULT_MIN = 50000
const DENSE_OPACITY = 0.55 // the points' default opacity over the density: the density shows through

/** What the URL asks for, else the defaults for this many points. */
export function mapStyle(state, points) {
  const dense = points >= DENSITY_DEFAULT_MIN
  const density = state.density === '' ? dense : state.density === 'on'
  const opacity = state.pointOpacity ?? (density && dense ? DENSE_OPACITY : 1)
  return { density, size: state.pointSize ?? 1, opacity }
}

export function buildMapStyle(view) {
  const el = {}
  el.density = h('input', { type: 'checkbox', dataset: { testid: 'density' }, on: { change: () => changed(view) } })
  const on = { input: () => changed(view) }
  const slider = (label, testid, min, max, step) =>
    h('input', { type: 'range', min, max, step, 'aria-label': label, dataset: { testid }, on })
  el.size = slider('Point size', 'point-size', '0.5', '3', '0.25')
  el.opacity = slider('Point opacity', 'point-opacity', '0.1', '1', '0.05')
  el.root = h(
    'details.map-style',
    { dataset: { testid: 'map-style' } },
    h('summary', {}, 'Map'),
    h('label', {}, el.density, 'Density'),
    h('label', {}, 'Size', el.size),
    h('label', {}, 'Opacity', el.opacity),
  )
  return el
}

function changed(view) {
  const { el } = view.mapStyle
  const n = view.map.points?.length || 0
  const dense = n >= DENSITY_DEFAULT_MIN
  view.state.density = el.density.checked === dense ? '' : el.density.checked ? 'on' : 'off'
  view.state.pointSize = Number(el.size.value) === 1 ? null : Number(el.size.value)
  const opacity = Number(el.opacity.value)
  view.state.pointOpacity = opacity === mapStyle({ ...view.state, pointOpacity: null }, n).opacity ? null : opacity
  history.replaceState({}, '', exploreUrl(view.state))
  applyMapStyle(view)
}

/** The style on the map and in the controls; the density follows the filter mask (call again when it changes). */
export function applyMapStyle(view) {
  const { map } = view
  if (!map.points) return
  const style = mapStyle(view.state, map.points.length)
  const { el } = view.mapStyle
  el.density.checked = style.density
  el.size.value = String(style.size)
  el.opacity.value = String(style.opacity)
  map.setPointStyle({ size: style.size, opacity: style.opacity })
  view.el.mapWrap.dataset.density = String(style.density)
  if (!style.density) {
    map.setExtraLayers('density', null)
    map.setExtraLayers('density-lines', null)
    return
  }
  const bounds = boundsOf(map.points)
  const density = densityGrid(map.points, bounds, map.mask)
  const theme = currentTheme()
  map.setExtraLayers('density', [densityLayer('density', densityImage(density, theme), bounds)], true)
  map.setExtraLayers('density-lines', [densityLayer('density-lines', contourImage(density, theme), bounds)])
}
