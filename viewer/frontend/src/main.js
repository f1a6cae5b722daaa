// Entry point: pick the page from the URL. In single_profile mode only the public scope exists.
import './style.css'
import { getJSON } from './api.js'
import { h, clear } from './dom.js'
import { mountCompare, parseCompare } from './compare.js'
import { mountExplore } from './explore.js'
import { mountHome } from './home.js'
import { mountImport } from './import.js'
import { emptyFilters, exploreUrl, parseRoute } from './state.js'

const root = document.getElementById('app')

async function start() {
  const app = await getJSON('/api/app')
  document.body.dataset.mode = app.mode
  let route = parseRoute(location)
  if (app.mode === 'single_profile') {
    const pub = { dataset: app.public_dataset, scope: app.public_scope }
    if (route.page !== 'explore' || route.dataset !== pub.dataset || route.scope !== pub.scope) {
      history.replaceState({}, '', exploreUrl({ ...pub, filters: emptyFilters() }))
      route = parseRoute(location)
    }
  }
  const compare = app.mode === 'single_profile' ? null : parseCompare(location)
  if (app.imports && location.pathname.replace(/\/$/, '') === '/import') mountImport(root, app)
  else if (compare) await mountCompare(root, compare)
  else if (route.page === 'explore') await mountExplore(root, route, app)
  else await mountHome(root, app)
}

start().catch((err) => {
  console.error(err)
  clear(root).append(
    h('div.error', { role: 'alert' }, h('h1', {}, 'Could not load this page'), h('p', {}, String(err.message || err)), h('a', { href: '/' }, 'Home')),
  )
})
