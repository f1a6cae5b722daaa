// The WebGL map: our PointsLayer (GL points, see points-layer.js) fed binary attributes straight from the Arrow
// points, cluster hulls, non-pickable cluster labels, a highlight layer for search results / selection, and a lasso.
import { Deck, OrthographicView } from '@deck.gl/core'
import { ScatterplotLayer, PolygonLayer, TextLayer } from '@deck.gl/layers'
import { Lasso } from './lasso.js'
import { bulkBox, labelLevels, levelAt, placeLabels } from './map-labels.js'
import { PointsLayer } from './points-layer.js'
import { clusterColor, hexToRgb, rampColor } from './theme.js'

const DIM_ALPHA = 28 // filtered-out points stay visible for context
let softwareWebgl // memo of isSoftwareWebgl(): the compare page makes two maps

export class ScatterMap {
  constructor(container, { onHover, onClick, onLasso }) {
    this.container = container
    this.handlers = { onHover, onClick, onLasso }
    this.points = null
    this.mask = null // Uint8Array: 1 = passes the current filter; null = no filter
    this.highlight = [] // [{position, cluster, kind}] drawn with a ring on top
    this.hullClusters = [] // cluster ids whose hull is drawn
    this.hoveredCluster = null
    this.extraLayers = new Map() // id -> {layers, below}: what other modules draw (the density, the playback)
    this.pointsVisible = true
    this.pointStyle = { size: 1, opacity: 1 } // the reader's point size (a factor) and opacity
    this.firstFrameDone = false
    const { width, height } = container.getBoundingClientRect()
    this.viewState = { target: [0, 0, 0], zoom: Math.log2(Math.min(width || 800, height || 600) / 2.3) }
    softwareWebgl ??= isSoftwareWebgl()
    this.deck = new Deck({
      parent: container,
      // Multisampling is free on a GPU (and smooths the hull outlines) but software WebGL pays for it on every
      // fragment: without it SwiftShader draws 1M points in about half the time. The points smooth their own edges.
      deviceProps: { webgl: { antialias: !softwareWebgl } },
      views: new OrthographicView({ id: 'map', flipY: false }),
      initialViewState: this.viewState,
      controller: { doubleClickZoom: true, scrollZoom: { smooth: false } },
      onViewStateChange: ({ viewState }) => {
        this.viewState = viewState
        this.radius = pointRadius(viewState.zoom, this.points?.length || 0)
        this.render()
        return viewState
      },
      getCursor: ({ isHovering, isDragging }) => (isDragging ? 'grabbing' : isHovering ? 'pointer' : 'grab'),
      onHover: (info) => this.handlers.onHover(this.pick(info), info),
      onClick: (info, event) => this.handlers.onClick(this.pick(info), event),
      onBeforeRender: () => this.beforeRender(),
      onAfterRender: () => this.afterRender(),
      layers: [],
    })
    this.deck.getCanvas()?.setAttribute('data-testid', 'map-canvas')
    this.lasso = new Lasso(container, (poly) => this.finishLasso(poly))
  }

  pick(info) {
    if (!info.layer || info.index < 0 || !this.points) return null
    if (info.layer.id === 'points') {
      const i = info.index
      return { row: i, lsIndex: this.points.lsIndex[i], cluster: this.points.cluster[i] }
    }
    if (info.layer.id === 'highlight') {
      const h = info.object
      return { row: h.row, lsIndex: h.lsIndex, cluster: h.cluster }
    }
    return null
  }

  beforeRender() {
    if (!this.firstFrameDone && this.layersSet) performance.mark('ls-draw-start')
  }

  afterRender() {
    if (!this.points || !this.layersSet) return
    if (this.firstFrameDone) {
      // The frame that first adds hulls, rings and labels (the bench's figure for the labels' layout).
      if (!this.overlaysDrawn && this.overlaysSet) {
        this.overlaysDrawn = true
        this.whenGpuDone(() => performance.mark('ls-overlays-drawn'))
      }
      return
    }
    this.firstFrameDone = true
    performance.mark('ls-draw-submitted')
    this.waitForGpu()
    performance.mark('ls-first-frame')
    // Navigation-relative time of the first frame that drew the points (read by the bench and the tests).
    window.__lsFirstFrame = performance.now()
    this.container.dataset.drawn = 'true'
    setTimeout(() => this.render(), 0) // now add hulls, rings and labels
  }

  /** WebGL calls return before the GPU has drawn; reading one pixel waits until the frame is really drawn. */
  waitForGpu() {
    const gl = this.deck.device?.gl
    if (gl) gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4))
  }

  /** Calls `done` once the GPU has finished what was issued so far, without blocking the page meanwhile. */
  whenGpuDone(done) {
    const gl = this.deck.device?.gl
    const sync = gl?.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0)
    if (!sync) return done()
    gl.flush()
    const poll = () => {
      if (gl.getSyncParameter(sync, gl.SYNC_STATUS) !== gl.SIGNALED) return setTimeout(poll, 10)
      gl.deleteSync(sync)
      done()
    }
    poll()
  }

  /** `parents`: the topics above the clusters, one array per level (level 1 first), or null. */
  setPoints(points, clusters, theme, parents = null) {
    this.points = points
    this.theme = theme
    this.clusters = clusters
    const n = points.length
    const positions = new Float32Array(n * 2)
    let maxIndex = 0
    for (let i = 0; i < n; i++) {
      positions[2 * i] = points.x[i]
      positions[2 * i + 1] = points.y[i]
      if (points.lsIndex[i] > maxIndex) maxIndex = points.lsIndex[i]
    }
    this.positions = positions
    this.rowOf = new Int32Array(maxIndex + 1).fill(-1)
    for (let i = 0; i < n; i++) this.rowOf[points.lsIndex[i]] = i
    if (!this.fitted) this.fit()
    this.radius = pointRadius(this.viewState.zoom, n)
    this.labelLevels = null // made with the labels, after the first frame
    this.parents = parents || []
    this.recolor()
  }

  /** Zoom so the bulk of the points fills the map: a few far outliers sit at the edge or outside the first view
   *  instead of squeezing everything else into a corner of it. */
  fit() {
    const { x, y, length } = this.points
    if (!length) return
    const [x0, y0, x1, y1] = bulkBox(x, y, length)
    const w = this.container.clientWidth || 800
    const h = this.container.clientHeight || 600
    const scale = Math.min(w / Math.max(x1 - x0, 1e-3), h / Math.max(y1 - y0, 1e-3))
    this.viewState = { target: [(x0 + x1) / 2, (y0 + y1) / 2, 0], zoom: Math.log2(scale) }
    this.fittedZoom = this.viewState.zoom
    this.deck.setProps({ initialViewState: this.viewState })
    this.fitted = true
  }

  /** The labels this view shows (map-labels.js); their count and screen boxes go on the container for tests. */
  visibleLabels() {
    this.labelLevels ??= labelLevels(this.points, this.clusters, this.parents)
    const levels = this.labelLevels
    const level = levelAt(this.viewState.zoom, this.fittedZoom ?? this.viewState.zoom, levels.length - 1)
    const w = this.container.clientWidth || 800
    const h = this.container.clientHeight || 600
    const placed = placeLabels(levels[level], this.viewState, w, h)
    this.container.dataset.labelLevel = String(level)
    this.container.dataset.labelCount = String(levels[level].length) // the level's labels, shown or not
    const { target, zoom } = this.viewState
    this.container.dataset.view = JSON.stringify({ target: target.slice(0, 2), zoom })
    this.container.dataset.labels = JSON.stringify(placed.map((p) => [p.label, ...p.box.map(Math.round)]))
    return placed
  }

  setTheme(theme) {
    this.theme = theme
    this.recolor()
  }

  setMask(mask) {
    // Each recolour re-uploads a colour per point: skip it when nothing changes (1M points).
    if (!mask && !this.mask) return
    this.mask = mask
    this.recolor()
  }

  /** Base colours: hue from the cluster (or the colour-by column), alpha from the filter mask. */
  recolor() {
    const p = this.points
    if (!p) return
    const n = p.length
    const colors = new Uint8Array(n * 4)
    const theme = this.theme
    const palette = new Map()
    this.noise = new Set(this.clusters.filter((c) => c.noise).map((c) => c.cluster))
    const rgbOf = (c) => {
      if (!palette.has(c)) palette.set(c, hexToRgb(clusterColor(theme, c, this.noise?.has(c))))
      return palette.get(c)
    }
    const byColumn = p.color && this.colorMode
    let lo = Infinity
    let hi = -Infinity
    if (byColumn === 'numeric') {
      for (let i = 0; i < n; i++) {
        const v = p.color[i]
        if (Number.isFinite(v)) {
          if (v < lo) lo = v
          if (v > hi) hi = v
        }
      }
    }
    for (let i = 0; i < n; i++) {
      let rgb
      if (byColumn === 'numeric' && !Number.isFinite(p.color[i])) rgb = hexToRgb(theme.noise) // no value
      else if (byColumn === 'numeric') rgb = rampColor(theme, (p.color[i] - lo) / (hi - lo || 1))
      else if (byColumn === 'category') rgb = p.color[i] < 0 ? hexToRgb(theme.noise) : rgbOf(p.color[i])
      else rgb = rgbOf(p.cluster[i])
      colors[4 * i] = rgb[0]
      colors[4 * i + 1] = rgb[1]
      colors[4 * i + 2] = rgb[2]
      colors[4 * i + 3] = !this.mask || this.mask[i] ? 220 : DIM_ALPHA
    }
    this.colors = colors
    // One data object per colouring: deck.gl uploads a binary attribute again whenever its descriptor object is new,
    // so one made in render() sent every point's position and colour to the GPU on every frame.
    this.pointsData = {
      length: n,
      attributes: {
        getPosition: { value: this.positions, size: 2 },
        getFillColor: { value: colors, size: 4, normalized: true },
      },
    }
    this.render()
  }

  setColorMode(mode) {
    this.colorMode = mode
  }

  /** Layers of another module under (below) or over the points, replacing that id's; null removes them. */
  setExtraLayers(id, layers, below = false) {
    if (layers) this.extraLayers.set(id, { layers, below })
    else if (!this.extraLayers.delete(id)) return
    this.render()
  }

  /** One extra layer replaced, every other layer kept as it is (a playback frame): building them all again would
   * have deck.gl redo the labels' collision map and the hulls' shapes every frame. */
  swapExtraLayer(id, layer) {
    const entry = this.extraLayers.get(id)
    if (!entry || !this.deckLayers?.some((l) => l.id === layer.id)) return this.setExtraLayers(id, [layer])
    entry.layers = [layer]
    this.deckLayers = this.deckLayers.map((l) => (l.id === layer.id ? layer : l))
    this.deck.setProps({ layers: this.deckLayers })
  }

  setPointsVisible(on) {
    if (on === this.pointsVisible) return
    this.pointsVisible = on
    this.render()
  }

  setPointStyle(style) {
    this.pointStyle = { ...this.pointStyle, ...style }
    this.render()
  }

  /** What the point size control gives: the map's own radius for its zoom and size, times the reader's factor. */
  pointRadius() {
    return this.radius * this.pointStyle.size
  }

  setHighlight(items) {
    if (!items.length && !this.highlight.length) return
    this.highlight = items
    this.render()
  }

  setHulls(clusterIds, hovered) {
    const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])
    if (hovered === this.hoveredCluster && same(clusterIds, this.hullClusters)) return
    this.hullClusters = clusterIds
    this.hoveredCluster = hovered
    this.render()
  }

  hullPolygons() {
    const ids = new Set(this.hullClusters)
    if (this.hoveredCluster !== null && this.hoveredCluster !== undefined) ids.add(this.hoveredCluster)
    const out = []
    for (const c of this.clusters || []) {
      if (!ids.has(c.cluster) || c.noise || !c.hull?.length) continue
      const polygon = c.hull
        .map((li) => this.rowOf[li])
        .filter((r) => r >= 0)
        .map((r) => [this.points.x[r], this.points.y[r]])
      if (polygon.length >= 3) out.push({ cluster: c.cluster, polygon, hovered: c.cluster === this.hoveredCluster })
    }
    return out
  }

  render() {
    if (!this.points) return
    const theme = this.theme
    const n = this.points.length
    const strokeRgb = hexToRgb(theme.stroke)
    // Before the first frame only the points layer exists: compiling the shaders of hulls, rings and text
    // (software WebGL: seconds) must not delay the points.
    const later = this.firstFrameDone
    const extra = (below) => [...this.extraLayers.values()].filter((e) => e.below === below).flatMap((e) => e.layers)
    const layers = [
      ...extra(true),
      later &&
      new PolygonLayer({
        id: 'hulls',
        data: this.hullPolygons(),
        getPolygon: (d) => d.polygon,
        getFillColor: (d) => [...hexToRgb(clusterColor(theme, d.cluster)), d.hovered ? 34 : 22],
        getLineColor: (d) => [...hexToRgb(clusterColor(theme, d.cluster)), 230],
        getLineWidth: (d) => (d.hovered ? 2 : 1.5),
        lineWidthUnits: 'pixels',
        stroked: true,
        pickable: false,
        updateTriggers: { getFillColor: [theme.name], getLineColor: [theme.name] },
      }),
      new PointsLayer({
        id: 'points',
        data: this.pointsData,
        radiusPixels: this.pointRadius(),
        opacity: this.pointStyle.opacity,
        visible: this.pointsVisible,
        pickable: true,
        autoHighlight: true,
        highlightColor: [...strokeRgb, 255],
      }),
      ...extra(false),
      later &&
      new ScatterplotLayer({
        id: 'highlight',
        data: this.highlight,
        getPosition: (d) => d.position,
        getFillColor: (d) => [...hexToRgb(clusterColor(theme, d.cluster)), 255],
        getLineColor: [...strokeRgb, 255],
        stroked: true,
        lineWidthUnits: 'pixels',
        getLineWidth: 1.5,
        radiusUnits: 'pixels',
        getRadius: Math.max(4, this.radius * 1.8),
        pickable: true,
        updateTriggers: { getFillColor: [theme.name], getLineColor: [theme.name] },
      }),
      later &&
      new TextLayer({
        id: 'labels',
        data: this.visibleLabels(),
        getPosition: (d) => d.position,
        getText: (d) => d.label,
        getSize: (d) => d.size || 12,
        getColor: [...hexToRgb(theme.text), 235],
        background: true,
        getBackgroundColor: [...hexToRgb(theme.background), 150],
        backgroundPadding: [4, 2],
        fontFamily: 'system-ui, sans-serif',
        characterSet: 'auto',
        // Labels never intercept hover or clicks on the points under them.
        pickable: false,
        updateTriggers: { getColor: [theme.name], getBackgroundColor: [theme.name] },
      }),
    ].filter(Boolean)
    this.layersSet = true
    this.overlaysSet = later
    this.deckLayers = layers
    this.deck.setProps({ layers })
    if (!later) performance.mark('ls-layers-set')
  }

  /** Milliseconds to draw one frame until the GPU has finished it (the bench's smoothness figure). */
  timeRedraw() {
    const t = performance.now()
    this.deck.redraw('timing')
    this.waitForGpu()
    return performance.now() - t
  }

  /** Milliseconds for one hover pick at a screen position (the first one also builds the picking buffers). */
  timePick(x, y) {
    const t = performance.now()
    const hit = this.deck.pickObject({ x, y, radius: 2 })
    return { ms: performance.now() - t, layer: hit?.layer?.id ?? null }
  }

  flyTo(x, y) {
    const zoom = Math.max(this.viewState.zoom, Math.log2(Math.min(this.container.clientWidth, 600) / 0.6))
    this.viewState = { ...this.viewState, target: [x, y, 0], zoom, transitionDuration: 400 }
    this.deck.setProps({ initialViewState: this.viewState })
  }

  setLassoMode(on) {
    this.lasso.setActive(on)
    this.deck.setProps({ controller: on ? false : { doubleClickZoom: true, scrollZoom: { smooth: false } } })
  }

  finishLasso(screenPoly) {
    const viewport = this.deck.getViewports()[0]
    if (!viewport || screenPoly.length < 3) return
    const poly = screenPoly.map(([x, y]) => viewport.unproject([x, y]).slice(0, 2))
    this.handlers.onLasso(poly)
  }

  /** ls_index of every point inside a data-space polygon. */
  pointsInPolygon(poly) {
    const p = this.points
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity]
    for (const [x, y] of poly) {
      x0 = Math.min(x0, x)
      y0 = Math.min(y0, y)
      x1 = Math.max(x1, x)
      y1 = Math.max(y1, y)
    }
    const out = []
    for (let i = 0; i < p.length; i++) {
      const x = p.x[i]
      const y = p.y[i]
      if (x < x0 || x > x1 || y < y0 || y > y1) continue
      if (insidePolygon(x, y, poly)) out.push(p.lsIndex[i])
    }
    return out
  }

  destroy() {
    this.deck.finalize()
    this.lasso.destroy()
  }
}

/** True when WebGL runs on the CPU (Chromium without a GPU uses SwiftShader; Mesa's llvmpipe on Linux). */
function isSoftwareWebgl() {
  const gl = document.createElement('canvas').getContext('webgl2')
  if (!gl) return false
  const info = gl.getExtension('WEBGL_debug_renderer_info')
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER))
  gl.getExtension('WEBGL_lose_context')?.loseContext()
  return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer)
}

function pointRadius(zoom, n) {
  // Smaller points for denser maps; grow a little when zooming in.
  const base = n > 500000 ? 1 : n > 100000 ? 1.5 : n > 10000 ? 2.2 : 3.2
  return Math.min(12, base * Math.pow(1.25, Math.max(0, zoom - 8)))
}

function insidePolygon(x, y, poly) {
  let inside = false
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]
    const [xj, yj] = poly[j]
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}
