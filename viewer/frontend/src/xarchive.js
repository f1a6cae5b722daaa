// Privacy mode: read an X archive zip in the browser and keep only the tweet fields an import needs.
// Only data/tweets.js and its parts are even decompressed; direct messages, account details and media never are.
// The fields and their mapping match ls_pipeline/sources/twitter.py (tweet_row) and tweets_json.py (the format).
import { strFromU8, unzipSync } from 'fflate'

export const FORMAT = 'latent-scope.tweets/1'
const PART = /(?:^|\/)data\/(?:tweets|tweet)(?:-part\d+)?\.js$/
const WRAPPER = /^\s*window\.YTD\.[A-Za-z_]+\.part\d+\s*=\s*/
const MONTHS = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 }

export function minimizeArchive(bytes) {
  let files
  try {
    files = unzipSync(bytes, { filter: (file) => PART.test(file.name) })
  } catch {
    throw new Error('this file is not a zip: choose the archive zip you downloaded from X')
  }
  const parts = Object.keys(files).sort()
  if (!parts.length) throw new Error('this zip has no data/tweets.js: is it an X (Twitter) archive export?')
  const byId = new Map()
  for (const name of parts) {
    const text = strFromU8(files[name])
    const wrapper = text.match(WRAPPER)
    if (!wrapper) throw new Error(`${name} does not start with 'window.YTD.<kind>.partN = ': not an X archive file`)
    let records
    try {
      records = JSON.parse(text.slice(wrapper[0].length).trim().replace(/;$/, ''))
    } catch {
      throw new Error(`${name} is truncated or not valid JSON`)
    }
    if (!Array.isArray(records)) throw new Error(`${name} does not hold a list of tweets`)
    for (const record of records) {
      const row = tweetRow(record && record.tweet ? record.tweet : record)
      byId.set(row.id, row) // a tweet in two parts counts once, the later one wins (as on the server)
    }
  }
  return { format: FORMAT, tweets: [...byId.values()] }
}

function tweetRow(tweet) {
  const id = String(tweet.id_str ?? tweet.id ?? '')
  if (!/^[0-9]{1,25}$/.test(id)) throw new Error('a tweet in the archive has no numeric id_str: the archive looks damaged')
  const entities = tweet.entities || {}
  const media = (tweet.extended_entities || {}).media || entities.media || []
  const urls = (entities.urls || []).filter((u) => u && typeof u === 'object')
  const text = expandLinks(String(tweet.full_text || tweet.text || ''), urls, media)
  const replyTo = tweet.in_reply_to_status_id_str ?? tweet.in_reply_to_status_id ?? null
  return {
    id,
    created_at: isoTime(tweet.created_at),
    text,
    lang: String(tweet.lang || 'und').slice(0, 16),
    favorite_count: count(tweet.favorite_count),
    retweet_count: count(tweet.retweet_count),
    is_reply: replyTo !== null,
    is_retweet: text.startsWith('RT @'),
    in_reply_to: replyTo === null ? null : String(replyTo),
    urls: urls.map((u) => String(u.expanded_url || u.url || '')),
    hashtags: (entities.hashtags || []).filter((x) => x && typeof x === 'object').map((x) => String(x.text ?? '')),
    mentions: (entities.user_mentions || []).filter((x) => x && typeof x === 'object').map((x) => String(x.screen_name ?? '')),
    media_count: media.length,
  }
}

function expandLinks(text, urls, media) {
  for (const u of urls) if (u.url && u.expanded_url) text = text.split(u.url).join(u.expanded_url)
  for (const m of media) if (m && m.url) text = text.split(m.url).join('')
  return text.replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>').trim()
}

function count(value) {
  const n = Number.parseInt(value, 10)
  return Number.isFinite(n) && n >= 0 ? n : 0
}

// "Wed Oct 11 20:19:24 +0000 2023" (the archive's format) to ISO 8601 UTC; null when it is not that.
function isoTime(value) {
  const m = typeof value === 'string' && value.match(/^\w{3} (\w{3}) (\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2}) (\d{4})$/)
  if (!m || !MONTHS[m[1]]) return null
  const month = String(MONTHS[m[1]]).padStart(2, '0')
  const time = new Date(`${m[6]}-${month}-${m[2]}T${m[3]}${m[4]}:${m[5]}`)
  return Number.isNaN(time.getTime()) ? null : time.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
