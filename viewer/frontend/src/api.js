// Thin client for the viewer HTTP API (docs/viewer-api.md). Filters become query parameters here, in one place.
import { tableFromIPC } from 'apache-arrow'

export class ApiError extends Error {}

export async function check(res) {
  if (res.ok) return res
  let message = `${res.status} ${res.statusText}`
  try {
    message = (await res.json()).error || message
  } catch {
    /* not JSON: keep the status line */
  }
  throw new ApiError(message)
}

export async function getJSON(path) {
  return (await check(await fetch(path))).json()
}

/** The topics above the clusters, one array per level (level 1 first), as far down as levels exist (at most 3). */
export async function getTopicLevels(base) {
  const levels = [await getJSON(`${base}/clusters?level=1`)]
  // A topic with a parent says there is a level above it (asking for a level that is not there is a 400).
  while (levels.length < 3 && levels.at(-1).some((t) => Number.isInteger(t.parent) && t.parent >= 0)) {
    levels.push(await getJSON(`${base}/clusters?level=${levels.length + 1}`))
  }
  return levels
}

export const scopeBase = (ds, scope) => `/api/datasets/${encodeURIComponent(ds)}/scopes/${encodeURIComponent(scope)}`

/** The scope's points as column arrays (ls_index, x, y, cluster, optional color) plus category names. */
export async function getPoints(ds, scope, colorBy) {
  const url = scopeBase(ds, scope) + '/points' + (colorBy ? `?color_by=${encodeURIComponent(colorBy)}` : '')
  const res = await check(await fetch(url))
  const body = new Uint8Array(await res.arrayBuffer())
  performance.mark('ls-points-fetched')
  const table = tableFromIPC(body)
  // The schema metadata always has the category names; the header only while they are short.
  const names = table.schema.metadata.get('x-ls-categories') ?? res.headers.get('x-ls-categories')
  const col = (name) => table.getChild(name)?.toArray()
  const points = {
    length: table.numRows,
    lsIndex: col('ls_index'),
    x: col('x'),
    y: col('y'),
    cluster: col('cluster'),
    color: col('color'),
    categories: names ? JSON.parse(names) : null,
  }
  performance.mark('ls-points-decoded')
  return points
}

/** How the keyword search matches the text column (the server's text_mode). */
export const TEXT_MODES = ['literal', 'word', 'regex']

/** Query parameters for the server-side filters (everything but an explicit selection). */
export function filterParams(filters) {
  const p = new URLSearchParams()
  for (const c of filters.clusters) p.append('cluster', String(c))
  for (const t of filters.tags) p.append('tag', t)
  if (filters.tagsMode === 'any' && filters.tags.length > 1) p.set('tags_mode', 'any')
  if (filters.where.length) p.set('where', JSON.stringify(filters.where))
  if (filters.text) {
    p.set('text', filters.text)
    if (filters.textMode && filters.textMode !== 'literal') p.set('text_mode', filters.textMode)
  }
  if (filters.q) {
    p.set('q', filters.q)
    p.set('k', String(filters.k))
  }
  return p
}

export function hasServerFilter(filters) {
  const { clusters, tags, where, text, q } = filters
  return clusters.length > 0 || tags.length > 0 || where.length > 0 || !!text || !!q
}

/** The same filters as a POST body (lists stay lists), with an explicit selection of any size up to max_selection. */
export function filterBody(filters, selection) {
  const body = {}
  for (const [key, value] of filterParams(filters)) {
    if (key === 'where') body.where = JSON.parse(value)
    else if (key === 'cluster' || key === 'tag') (body[key] ||= []).push(key === 'cluster' ? Number(value) : value)
    else body[key] = key === 'k' ? Number(value) : value
  }
  if (selection) body.ls_index = selection
  return body
}

/** A POST of JSON; `headers` adds to the content type (the write token, say). */
export async function post(path, body, headers = {}) {
  const init = { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }
  return check(await fetch(path, init))
}

export async function postRows(ds, scope, body) {
  return (await post(`${scopeBase(ds, scope)}/rows`, body)).json()
}

/** Export by POST (a selection too large for a link): the file is downloaded from a blob. */
export async function downloadExport(ds, scope, format, body) {
  const res = await post(`${scopeBase(ds, scope)}/export?format=${encodeURIComponent(format)}`, body)
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '')?.[1] || `export.${format}`
  const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(await res.blob()), download: name })
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10000)
}

export async function getRows(ds, scope, params) {
  return getJSON(`${scopeBase(ds, scope)}/rows?${params}`)
}

export async function getIndices(ds, scope, filters) {
  return getJSON(`${scopeBase(ds, scope)}/rows/indices?${filterParams(filters)}`)
}

/** The facets of the filters in `body` (a filter body plus column, baseline, rank: docs/viewer-api.md). */
export async function getFacets(ds, scope, body) {
  return (await post(`${scopeBase(ds, scope)}/facets`, body)).json()
}

export async function search(ds, scope, q, k) {
  return getJSON(`${scopeBase(ds, scope)}/search?q=${encodeURIComponent(q)}&k=${k}`)
}
