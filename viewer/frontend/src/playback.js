// Time playback on the map: a window moving through time, its points drawn bright over a dim context. The points
// are sorted by time once, so a window is a contiguous run of them (window-points-layer.js): a frame changes two
// numbers and uploads nothing. The context is the other points dimmed, or on big maps their density
// (density-layer.js): redrawing 100k dimmed points every frame costs software WebGL far more than a frame allows.
// The map's own density layers ('density', 'density-lines': explore/map-style.js) give way to that context while the
// window moves: each is an image over the whole map, and software WebGL pays for every pixel of each.
import { boundsOf, densityGrid, densityImage, densityLayer } from './density-layer.js'
import { WindowPointsLayer } from './window-points-layer.js'

/** From this many points up, the context of a playback is the density image instead of the dimmed points. */
export const DENSITY_CONTEXT_MIN = 20000
const WINDOW_ALPHA = 235

export class Playback {
  /** `times`: each point's time (epoch seconds; NaN for none), in the map's point order. */
  constructor(map, times, theme) {
    this.map = map
    this.pointTimes = times
    const n = map.points.length
    const order = Array.from({ length: n }, (_, i) => i).filter((i) => Number.isFinite(times[i]))
    order.sort((a, b) => times[a] - times[b])
    this.times = Float64Array.from(order, (i) => times[i])
    const positions = new Float32Array(order.length * 2)
    const colors = new Uint8Array(order.length * 4)
    order.forEach((i, k) => {
      positions[2 * k] = map.points.x[i]
      positions[2 * k + 1] = map.points.y[i]
      colors.set(map.colors.subarray(4 * i, 4 * i + 3), 4 * k)
      colors[4 * k + 3] = map.mask && !map.mask[i] ? 40 : WINDOW_ALPHA
    })
    // One data object for every frame: deck.gl then sees the same buffers and uploads them once.
    this.data = {
      length: order.length,
      attributes: {
        getPosition: { value: positions, size: 2 },
        getFillColor: { value: colors, size: 4, normalized: true },
      },
    }
    this.dense = n >= DENSITY_CONTEXT_MIN
    if (this.dense) {
      const bounds = boundsOf(map.points)
      this.context = densityLayer('playback-context', densityImage(densityGrid(map.points, bounds), theme), bounds)
    }
    this.extent = this.times.length ? [this.times[0], this.times[this.times.length - 1]] : null
    this.savedMask = map.mask
  }

  /** Shows the points whose time t has from <= t < to (the context stays); returns how many. */
  show(from, to) {
    const first = lowerBound(this.times, from)
    const count = lowerBound(this.times, to) - first
    const layer = new WindowPointsLayer({
      id: 'playback',
      data: this.data,
      firstPoint: first,
      pointCount: count,
      radiusPixels: this.map.pointRadius() * 1.25,
      pickable: false,
    })
    if (this.started) return this.map.swapExtraLayer('playback', layer) || count
    this.started = true
    this.map.setExtraLayers('density', null)
    this.map.setExtraLayers('density-lines', null)
    if (this.dense) {
      this.map.setPointsVisible(false)
      this.map.setExtraLayers('playback-context', [this.context], true)
    } else {
      this.map.setMask(new Uint8Array(this.map.points.length)) // every point dim: the window's are drawn again
    }
    this.map.setExtraLayers('playback', [layer])
    return count
  }

  /** Back to the map as it was (but its density layers: the caller draws them again). */
  stop() {
    this.map.setExtraLayers('playback', null)
    this.map.setExtraLayers('playback-context', null)
    this.map.setPointsVisible(true)
    if (this.started && !this.dense) this.map.setMask(this.savedMask)
    this.started = false
  }
}

function lowerBound(values, x) {
  let lo = 0
  let hi = values.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (values[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}
