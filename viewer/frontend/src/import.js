// Hosted mode's import page: an X archive zip to a scope. In privacy mode only the minimized tweets are sent.
import { h, clear, fmt } from './dom.js'
import { emptyFilters, exploreUrl } from './state.js'
import { minimizeArchive } from './xarchive.js'

const STEPS = ['queued', 'embedding', 'projecting', 'clustering', 'labeling', 'saving the scope', 'ready']
const POLL_MS = 1500

export function mountImport(root, app) {
  const name = h('input', { name: 'name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,99}', placeholder: 'e.g. my-tweets' })
  const file = h('input', { type: 'file', name: 'archive', accept: '.zip,application/zip', required: true })
  const privacy = h('input', { type: 'checkbox', name: 'privacy', checked: true })
  // A re-import into a name needs the secret its first upload showed (the server keeps only a hash of it).
  const secret = h('input', { name: 'secret', type: 'password', autocomplete: 'off', placeholder: 'only to update a map' })
  const button = h('button', { type: 'submit' }, 'Import')
  const status = h('div.import-status', { role: 'status', 'aria-live': 'polite', dataset: { testid: 'import-status' } })
  const form = h(
    'form.import-form',
    { on: { submit: (event) => start(event) } },
    h('label', {}, 'Name of the map ', name),
    h('label', {}, 'X archive (.zip) ', file),
    h('label', {}, 'Secret of this map ', secret),
    h(
      'label.privacy',
      {},
      privacy,
      ' Privacy mode: read the archive in this browser and upload only your tweets (text, time, language, counts, ' +
        'links, hashtags, mentions). Direct messages, account details, media and everything else stay on this computer.',
    ),
    h('p.muted', {}, `Uploads up to ${fmt(app.max_upload_mb)} MB.`),
    button,
  )
  clear(root).append(
    h(
      'div.home',
      {},
      h('header.bar', {}, h('a.brand', { href: '/' }, 'Latent Scope'), h('span.spacer')),
      h('main.datasets', {}, h('h1', {}, 'Import your X archive'), form, status),
    ),
  )

  async function start(event) {
    event.preventDefault()
    const chosen = file.files && file.files[0]
    if (!chosen) return
    button.disabled = true
    try {
      const sent = await upload(name.value.trim(), chosen, privacy.checked, secret.value.trim())
      say(`Uploaded ${fmt(sent.rows)} tweets (${fmt(sent.bytes)} bytes). Waiting for the pipeline…`)
      if (sent.secret) showSecret(sent.secret)
      await follow(sent.name)
    } catch (err) {
      say(String(err.message || err), true)
    } finally {
      button.disabled = false
    }
  }

  async function upload(dataset, chosen, minimized, key) {
    say(minimized ? 'Reading the archive in this browser…' : 'Uploading the archive…')
    const bytes = new Uint8Array(await chosen.arrayBuffer())
    const body = minimized ? JSON.stringify(minimizeArchive(bytes)) : bytes
    const type = minimized ? 'application/json' : 'application/zip'
    const res = await fetch(`/api/imports?name=${encodeURIComponent(dataset)}`, { method: 'POST', headers: { 'content-type': type, ...(key ? { 'x-import-secret': key } : {}) }, body })
    const answer = await res.json().catch(() => ({ error: `the server answered HTTP ${res.status}` }))
    if (!res.ok) throw new Error(answer.error || `the server answered HTTP ${res.status}`)
    return answer
  }

  /** Shown once, beside the status: the server cannot show it again. */
  function showSecret(value) {
    const note = h(
      'div.import-secret',
      { dataset: { testid: 'import-secret' } },
      h('p', {}, 'Keep this secret: it is shown only now, and updating this map with a newer archive needs it.'),
      h('code', { dataset: { testid: 'import-secret-value' } }, value),
    )
    status.after(note)
  }

  async function follow(dataset) {
    for (;;) {
      const res = await fetch(`/api/imports/${encodeURIComponent(dataset)}`)
      const state = await res.json()
      if (!res.ok || state.state === 'failed') throw new Error(state.message || state.error || 'the import failed')
      showSteps(state)
      if (state.state === 'ready') return
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
  }

  function showSteps(state) {
    const at = STEPS.indexOf(state.state)
    const link = state.state === 'ready' ? exploreUrl({ dataset: state.name, scope: state.scope, filters: emptyFilters() }) : null
    clear(status).append(
      h(
        'ol.import-steps',
        {},
        STEPS.map((step, i) => h('li', { class: i < at || state.state === 'ready' ? 'done' : i === at ? 'current' : '' }, step)),
      ),
      state.rows ? h('p', {}, `${fmt(state.rows)} rows in the dataset (${fmt(state.added || 0)} new).`) : null,
      link ? h('a.button', { href: link, dataset: { testid: 'explore-import' } }, 'Explore your map') : null,
    )
    status.dataset.state = state.state
  }

  function say(text, isError = false) {
    clear(status).append(h(isError ? 'p.error' : 'p', isError ? { role: 'alert' } : {}, text))
    status.dataset.state = isError ? 'failed' : 'working'
  }
}
