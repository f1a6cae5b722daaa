// The map's density: the points binned on a grid over the map, blurred, and drawn as one image (deck.gl's
// BitmapLayer). Drawing it costs one textured rectangle whatever the number of points, so it works with software
// WebGL, where a million points are a uniform haze that takes seconds a frame. The shade is the theme's text colour
// in alpha: hue stays for clusters alone.
import { BitmapLayer } from '@deck.gl/layers'
import { hexToRgb } from './theme.js'

const GRID = 384 // cells along the longer side of the map
const MAX_ALPHA = 190

/** [left, bottom, right, top] of the points, with a margin for the blur. */
export function boundsOf(points) {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity]
  for (let i = 0; i < points.length; i++) {
    const x = points.x[i]
    const y = points.y[i]
    if (x < x0) x0 = x
    if (x > x1) x1 = x
    if (y < y0) y0 = y
    if (y > y1) y1 = y
  }
  const pad = 0.04 * Math.max(x1 - x0, y1 - y0, 1e-3)
  return [x0 - pad, y0 - pad, x1 + pad, y1 + pad]
}

/** The density of the points (those with mask[i] = 1, when a mask is given) as RGBA pixels, y up as on the map. */
export function densityImage(points, bounds, theme, mask = null) {
  const [x0, y0, x1, y1] = bounds
  const aspect = (x1 - x0) / (y1 - y0 || 1)
  const width = Math.max(8, Math.round(aspect >= 1 ? GRID : GRID * aspect))
  const height = Math.max(8, Math.round(aspect >= 1 ? GRID / aspect : GRID))
  let grid = new Float32Array(width * height)
  const sx = width / (x1 - x0 || 1)
  const sy = height / (y1 - y0 || 1)
  for (let i = 0; i < points.length; i++) {
    if (mask && !mask[i]) continue
    const cx = Math.floor((points.x[i] - x0) * sx)
    const cy = Math.floor((y1 - points.y[i]) * sy) // image rows run top down
    if (cx >= 0 && cx < width && cy >= 0 && cy < height) grid[cy * width + cx] += 1
  }
  const radius = Math.max(1, Math.round(Math.max(width, height) / 160))
  for (let pass = 0; pass < 3; pass++) grid = blur(grid, width, height, radius) // three box blurs ~ a Gaussian
  let top = 0
  for (let i = 0; i < grid.length; i++) if (grid[i] > top) top = grid[i]
  const [r, g, b] = hexToRgb(theme.text)
  const pixels = new Uint8ClampedArray(width * height * 4)
  for (let i = 0; i < grid.length; i++) {
    // The square root keeps sparse regions visible beside dense ones.
    const a = top > 0 ? Math.sqrt(grid[i] / top) : 0
    pixels[4 * i] = r
    pixels[4 * i + 1] = g
    pixels[4 * i + 2] = b
    pixels[4 * i + 3] = Math.round(MAX_ALPHA * a)
  }
  return new ImageData(pixels, width, height)
}

function blur(grid, width, height, radius) {
  const tmp = new Float32Array(grid.length)
  const out = new Float32Array(grid.length)
  const span = 2 * radius + 1
  for (let y = 0; y < height; y++) {
    let sum = 0
    const row = y * width
    for (let x = -radius; x < width + radius; x++) {
      if (x + radius < width) sum += grid[row + x + radius] || 0
      if (x - radius - 1 >= 0) sum -= grid[row + x - radius - 1]
      if (x >= 0 && x < width) tmp[row + x] = sum / span
    }
  }
  for (let x = 0; x < width; x++) {
    let sum = 0
    for (let y = -radius; y < height + radius; y++) {
      if (y + radius < height) sum += tmp[(y + radius) * width + x]
      if (y - radius - 1 >= 0) sum -= tmp[(y - radius - 1) * width + x]
      if (y >= 0 && y < height) out[y * width + x] = sum / span
    }
  }
  return out
}

export function densityLayer(id, image, bounds, opacity = 1) {
  return new BitmapLayer({
    id,
    image,
    bounds,
    opacity,
    pickable: false,
    textureParameters: { minFilter: 'linear', magFilter: 'linear' },
  })
}
