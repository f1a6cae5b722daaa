// The home page: every dataset with its scopes, each scope with its cluster thumbnail.
import { getJSON, scopeBase } from './api.js'
import { h, clear, fmt } from './dom.js'
import { currentTheme, setTheme } from './theme.js'

export async function mountHome(root, app = {}) {
  const datasets = await getJSON('/api/datasets')
  const withScopes = await Promise.all(
    datasets.map(async (d) => ({ meta: d, scopes: await getJSON(`/api/datasets/${encodeURIComponent(d.id)}/scopes`) })),
  )
  const themeButton = h('button.icon', { dataset: { testid: 'theme-toggle' }, on: { click: toggle } })
  const label = () => (themeButton.textContent = currentTheme().name === 'dark' ? '☀ Light' : '☾ Dark')
  function toggle() {
    setTheme(currentTheme().name === 'dark' ? 'light' : 'dark')
    label()
  }
  label()
  clear(root).append(
    h(
      'div.home',
      {},
      h(
        'header.bar',
        {},
        h('span.brand', {}, 'Latent Scope'),
        h('span.spacer'),
        app.imports ? h('a.button', { href: '/import', dataset: { testid: 'import-link' } }, 'Import an X archive') : null,
        themeButton,
      ),
      h(
        'main.datasets',
        {},
        h('h1', {}, 'Datasets'),
        withScopes.length ? null : h('p.muted', {}, 'No datasets yet: run ls-run FILE to make one.'),
        withScopes.map(({ meta, scopes }) =>
          h(
            'section.dataset-card',
            { dataset: { testid: 'dataset', dataset: meta.id } },
            h('h2', {}, meta.id),
            h('p.muted', {}, `${fmt(meta.length)} rows · text column “${meta.text_column}” · ${meta.columns.length} columns`),
            scopes.length ? null : h('p.muted', {}, 'No scopes yet.'),
            h(
              'div.scopes',
              {},
              scopes.map((s) =>
                h(
                  'a.scope-card',
                  { href: `/datasets/${encodeURIComponent(meta.id)}/explore/${encodeURIComponent(s.id)}` },
                  h('img', { src: `${scopeBase(meta.id, s.id)}/thumbnail`, alt: `map of ${s.label || s.id}`, loading: 'lazy' }),
                  h('strong', {}, s.label || s.id),
                  h(
                    'span.muted',
                    {},
                    `${s.id} · ${s.cluster?.n_clusters ?? '?'} clusters · ${s.embedding?.model_id ?? s.embedding_id ?? ''}`,
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  )
}
