// The explore page: loads a scope, then hands the page to ExploreView (explore/view.js), whose state mirrors the URL.
import * as api from './api.js'
import { ExploreView } from './explore/view.js'
import { useColourSlots } from './theme.js'

export async function mountExplore(root, route, app) {
  // The points are the biggest download (16 MB at 1M): ask for them beside the scope's JSON, not after it.
  performance.mark('ls-points-request')
  const points = api.getPoints(route.dataset, route.scope, route.color)
  points.catch(() => {}) // a failure is reported where the view awaits it
  const view = new ExploreView(root, route, await loadScope(route, app))
  return view.start(points)
}

/** What the page shows of a scope, loaded once: its JSON, the dataset meta, its clusters and topics, the tags. */
async function loadScope({ dataset, scope }, app) {
  const base = `/api/datasets/${encodeURIComponent(dataset)}`
  const [scopeJson, meta, scopes, clusters, tags] = await Promise.all([
    api.getJSON(`${api.scopeBase(dataset, scope)}`),
    api.getJSON(`${base}/meta`),
    app.mode === 'single_profile' ? Promise.resolve([]) : api.getJSON(`${base}/scopes`),
    api.getJSON(`${api.scopeBase(dataset, scope)}/clusters`),
    api.getJSON(`${base}/tags`).catch(() => []),
  ])
  useColourSlots(clusters)
  const hasLevels = clusters.some((c) => Number.isInteger(c.parent) && c.parent >= 0) // -1: no parent topic
  const parents = hasLevels ? await api.getTopicLevels(api.scopeBase(dataset, scope)) : null
  return { app, dataset, scope, scopeJson, meta, scopes, clusters, parents, tags }
}
