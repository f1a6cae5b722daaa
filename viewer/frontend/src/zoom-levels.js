// Topics by zoom: when the labels have levels (topics above the clusters), the map labels the top level zoomed out
// and finer levels as the reader zooms in, one level per doubling of the zoom, as Nomic Atlas and DataMapPlot do.
// A topic's label sits at the centre of its rows and is sized by their number; labels are text in the theme's text
// colour (hue stays for clusters alone).

const MIN_SIZE = 11
const MAX_SIZE = 19

export class ZoomLevels {
  /** `clusterLabels`: the clusters' labels as the map places them (level 0: {cluster, label, count, position});
   * `clusters`: the clusters, each with its parent topic; `parents`: the topics, one array per level (1 first). */
  constructor(clusterLabels, clusters, parents) {
    const parentOf = new Map(clusters.map((c) => [c.cluster, c.parent]))
    this.levels = [sized(clusterLabels.map((l) => ({ ...l, parent: parentOf.get(l.cluster) })))]
    for (const topics of parents) {
      const below = this.levels.at(-1)
      const merged = topics
        .map((t) => merge(t, below.filter((b) => b.parent === t.cluster)))
        .filter(Boolean)
      if (!merged.length) break
      this.levels.push(sized(merged))
    }
  }

  get top() {
    return this.levels.length - 1
  }

  /** The level for a zoom `steps` doublings in from the first view: the top level there, one finer per step. */
  levelAt(steps) {
    return Math.max(0, Math.min(this.top, this.top - Math.floor(steps + 0.5)))
  }
}

/** A topic's label at the rows-weighted centre of its children's, with their rows summed. */
function merge(topic, children) {
  const count = children.reduce((n, c) => n + c.count, 0)
  if (!count) return null
  const x = children.reduce((s, c) => s + c.position[0] * c.count, 0) / count
  const y = children.reduce((s, c) => s + c.position[1] * c.count, 0) / count
  return { cluster: topic.cluster, label: topic.label, count, parent: topic.parent, position: [x, y] }
}

/** Font sizes by rows (the square root: areas, not lengths, compare counts) and collision priorities in
 * [0, 1000], the biggest first. */
function sized(labels) {
  const most = Math.max(1, ...labels.map((l) => l.count || 0))
  return labels.map((l) => ({
    ...l,
    size: Math.round(MIN_SIZE + (MAX_SIZE - MIN_SIZE) * Math.sqrt((l.count || 0) / most)),
    priority: Math.round((1000 * (l.count || 0)) / most),
  }))
}
