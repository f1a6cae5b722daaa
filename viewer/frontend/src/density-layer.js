// The map's density: the points binned on a grid over the map and blurred, drawn as a soft shade under the points and
// as contour lines (d3-contour) over them, each one image (deck.gl's BitmapLayer). An image costs one textured
// rectangle a frame whatever the number of points, so it works with software WebGL, where a million points are a
// uniform haze that takes seconds a frame (and where deck.gl's own line layers draw each segment as a draw of its own).
// The shade and the lines are the theme's text colour in alpha: hue stays for clusters alone.
import { BitmapLayer } from '@deck.gl/layers'
import { contours } from 'd3-contour'
import { hexToRgb } from './theme.js'

const GRID = 384 // cells along the longer side of the map
const MAX_ALPHA = 150
// Contour levels as shares of the densest cell's density: the outer ones find sparse regions, the inner ones peaks.
const LEVELS = [0.03, 0.08, 0.18, 0.35, 0.6]
const LINE_SCALE = 3 // the lines' image has this many pixels per grid cell, for crisp lines

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

/** The blurred counts of the points (those with mask[i] = 1, when a mask is given) on a grid over `bounds`, row by
 * row from the top as in an image. */
export function densityGrid(points, bounds, mask = null) {
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
    const cy = Math.floor((y1 - points.y[i]) * sy)
    if (cx >= 0 && cx < width && cy >= 0 && cy < height) grid[cy * width + cx] += 1
  }
  const radius = Math.max(1, Math.round(Math.max(width, height) / 160))
  for (let pass = 0; pass < 3; pass++) grid = blur(grid, width, height, radius) // three box blurs ~ a Gaussian
  let top = 0
  for (let i = 0; i < grid.length; i++) if (grid[i] > top) top = grid[i]
  return { grid, width, height, top }
}

/** The shade: alpha by the square root of the density, so sparse regions show beside dense ones. */
export function densityImage({ grid, width, height, top }, theme) {
  const [r, g, b] = hexToRgb(theme.text)
  const pixels = new Uint8ClampedArray(width * height * 4)
  for (let i = 0; i < grid.length; i++) {
    pixels[4 * i] = r
    pixels[4 * i + 1] = g
    pixels[4 * i + 2] = b
    pixels[4 * i + 3] = top > 0 ? Math.round(MAX_ALPHA * Math.sqrt(grid[i] / top)) : 0
  }
  return new ImageData(pixels, width, height)
}

/** The contour lines at LEVELS, drawn on a canvas LINE_SCALE times the grid's size. */
export function contourImage({ grid, width, height, top }, theme) {
  const canvas = document.createElement('canvas')
  canvas.width = width * LINE_SCALE
  canvas.height = height * LINE_SCALE
  if (!(top > 0)) return canvas
  const ctx = canvas.getContext('2d')
  const [r, g, b] = hexToRgb(theme.text)
  ctx.scale(LINE_SCALE, LINE_SCALE)
  ctx.lineWidth = 1 / LINE_SCALE
  ctx.lineJoin = 'round'
  const shapes = contours().size([width, height]).thresholds(LEVELS.map((l) => l * top))(grid)
  shapes.forEach((shape, level) => {
    ctx.strokeStyle = `rgba(${r}, ${g}, ${b}, ${0.35 + (0.4 * level) / LEVELS.length})`
    ctx.beginPath()
    for (const polygon of shape.coordinates) {
      for (const ring of polygon) {
        ring.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)))
        ctx.closePath()
      }
    }
    ctx.stroke()
  })
  return canvas
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
