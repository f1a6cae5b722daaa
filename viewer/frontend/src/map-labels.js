// What the map's first view frames and which labels it shows. Pure functions over the points' column arrays, so the
// map (map.js) only draws what these decide.

const BULK = 0.01 // the first view frames the points between these quantiles on each axis: outliers do not set its scale
const MARGIN = 0.08 // room around the bulk, as a share of its extent on each side
const QUANTILE_SAMPLE = 20000 // points read for the quantiles (every k-th): enough for a 1% quantile at any size
const LABEL_AREA = 30000 // px² of map per label: no more labels show at once than a reader takes in
const MAX_LABELS = 40
const CHAR_PX = 6.6 // the labels' 12 px system font, average advance per character
const LABEL_HEIGHT = 18 // px, with the background's padding
const MIN_SIZE = 11 // px: a level's labels are sized by their rows between these
const MAX_SIZE = 19
const GAP = 3 // px kept free around each label

/** [x0, y0, x1, y1]: the box the first view fits, the bulk of the points with a margin (all of them when few). */
export function bulkBox(x, y, n) {
  if (!n) return [-1, -1, 1, 1]
  const step = Math.max(1, Math.floor(n / QUANTILE_SAMPLE))
  const xs = []
  const ys = []
  for (let i = 0; i < n; i += step) {
    xs.push(x[i])
    ys.push(y[i])
  }
  const tail = xs.length >= 200 ? BULK : 0 // a few hundred points: every one of them is the bulk
  const [x0, x1] = quantiles(xs, tail)
  const [y0, y1] = quantiles(ys, tail)
  const mx = MARGIN * Math.max(x1 - x0, 1e-3)
  const my = MARGIN * Math.max(y1 - y0, 1e-3)
  return [x0 - mx, y0 - my, x1 + mx, y1 + my]
}

function quantiles(values, tail) {
  const sorted = Float64Array.from(values).sort()
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]
  return [at(tail), at(1 - tail)]
}

/** Label anchors per group (a cluster, or a topic above clusters): the member point nearest the group's mean, so
 *  the label sits on the group's own points even where its shape curves. `groupOf[cluster id]` is the cluster's
 *  group id (or -1); `names` the groups to label: [{id, label, count}]. Two passes over typed arrays (1M points). */
export function anchors(points, groupOf, names) {
  const { x, y, cluster, length } = points
  const groups = Math.max(0, ...groupOf) + 1
  const sx = new Float64Array(groups)
  const sy = new Float64Array(groups)
  const k = new Float64Array(groups)
  for (let i = 0; i < length; i++) {
    const g = cluster[i] < groupOf.length ? groupOf[cluster[i]] : -1
    if (g < 0) continue
    sx[g] += x[i]
    sy[g] += y[i]
    k[g] += 1
  }
  for (let g = 0; g < groups; g++) {
    sx[g] /= k[g] || 1
    sy[g] /= k[g] || 1
  }
  const best = new Int32Array(groups).fill(-1)
  const bestD = new Float64Array(groups).fill(Infinity)
  for (let i = 0; i < length; i++) {
    const g = cluster[i] < groupOf.length ? groupOf[cluster[i]] : -1
    if (g < 0) continue
    const d = (x[i] - sx[g]) ** 2 + (y[i] - sy[g]) ** 2
    if (d < bestD[g]) {
      bestD[g] = d
      best[g] = i
    }
  }
  return names
    .filter((g) => g.id >= 0 && g.id < groups && best[g.id] >= 0)
    .map((g) => ({ id: g.id, label: g.label, count: g.count || 0, position: [x[best[g.id]], y[best[g.id]]] }))
}

/** The labels to draw at this view: largest groups first, each kept only where its box is on screen and clear of
 *  every box kept before it, at most as many as the map's area allows. Returns them with their screen boxes. */
export function placeLabels(candidates, view, width, height) {
  const scale = 2 ** view.zoom
  const limit = Math.min(MAX_LABELS, Math.max(1, Math.floor((width * height) / LABEL_AREA)))
  const placed = []
  for (const c of [...candidates].sort((a, b) => b.count - a.count)) {
    if (placed.length >= limit) break
    const sx = (c.position[0] - view.target[0]) * scale + width / 2
    const sy = height / 2 - (c.position[1] - view.target[1]) * scale
    const em = (c.size || 12) / 12
    const w = c.label.length * CHAR_PX * em + 8
    const h = LABEL_HEIGHT * em
    const box = [sx - w / 2 - GAP, sy - h / 2 - GAP, sx + w / 2 + GAP, sy + h / 2 + GAP]
    if (box[0] < 0 || box[1] < 0 || box[2] > width || box[3] > height) continue
    if (placed.some((p) => overlaps(p.box, box))) continue
    placed.push({ ...c, box })
  }
  return placed
}

function overlaps(a, b) {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/** Which level's labels a view shows: the top topic level at the first view's zoom, one level finer for each
 *  doubling of the zoom after it, the clusters (level 0) at the end. */
export function levelAt(zoom, fittedZoom, topLevel) {
  return Math.max(0, topLevel - Math.max(0, Math.floor(zoom - fittedZoom + 0.25)))
}

/** Label anchors per level: the clusters (level 0), then each topic level above them. */
export function labelLevels(points, clusters, parents) {
  const named = clusters.filter((c) => !c.noise)
  const size = Math.max(0, ...clusters.map((c) => c.cluster)) + 1
  let groupOf = new Int32Array(size).fill(-1) // cluster id -> its group at the level below
  for (const c of named) groupOf[c.cluster] = c.cluster
  const levels = [anchors(points, groupOf, named.map((c) => ({ id: c.cluster, label: c.label, count: c.count })))]
  for (const topics of parents) {
    const up = new Map()
    for (const t of topics) for (const child of t.children || []) up.set(child, t.cluster)
    groupOf = groupOf.map((g) => (up.has(g) ? up.get(g) : -1))
    levels.push(anchors(points, groupOf, topics.map((t) => ({ id: t.cluster, label: t.label, count: t.count }))))
  }
  return levels.map(sized)
}

/** Font sizes by rows within a level: the square root, since areas, not lengths, compare counts. */
function sized(labels) {
  const most = Math.max(1, ...labels.map((l) => l.count))
  return labels.map((l) => ({ ...l, size: Math.round(MIN_SIZE + (MAX_SIZE - MIN_SIZE) * Math.sqrt(l.count / most)) }))
}
