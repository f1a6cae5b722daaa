"""Small X archives in the real formats (tweets.js parts with the window.YTD wrapper), built in tests."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path


def tweet(
    n: int,
    text: str,
    *,
    year: int = 2023,
    favs: int = 0,
    rts: int = 0,
    lang: str = "en",
    reply_to: str | None = None,
    link: bool = False,
) -> dict:
    body = {
        "id_str": str(1000 + n),
        "full_text": text,
        "lang": lang,
        "favorite_count": str(favs),
        "retweet_count": str(rts),
        "created_at": f"Wed Oct 1{n % 10} 20:19:24 +0000 {year}",
        "entities": {"urls": [], "hashtags": [{"text": "maps"}], "user_mentions": [{"screen_name": "enjalot"}]},
    }
    if link:
        body["full_text"] = f"{text} https://t.co/abc"
        body["entities"]["urls"] = [{"url": "https://t.co/abc", "expanded_url": "https://example.org/post"}]
    if reply_to:
        body["in_reply_to_status_id_str"] = reply_to
    return {"tweet": body}


TWEETS = [
    tweet(1, "Latent spaces are maps of meaning", favs=10, link=True),
    tweet(2, "RT @someone: embeddings everywhere", rts=3),
    tweet(3, "replying about UMAP parameters", reply_to="999"),
    tweet(4, "un mapa de significados", lang="es", favs=2),
    tweet(5, "old tweet about clustering", year=2021, favs=50),
]


def write_zip(path: Path, tweets: list[dict], parts: int = 2, wrapper: str = "window.YTD.tweets.part{n} = ") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for n in range(parts):
            name = "data/tweets.js" if n == 0 else f"data/tweets-part{n}.js"
            archive.writestr(name, wrapper.format(n=n) + json.dumps(tweets[n::parts]))
        archive.writestr("data/like.js", 'window.YTD.like.part0 = [{"like": {"tweetId": "7", "fullText": "liked"}}]')
        archive.writestr("data/manifest.js", "window.__THAR_CONFIG = {}")
    return path


SECRETS = ("dm: meet me at the usual place", "owner@example.org")


def write_full_archive(path: Path, tweets: list[dict], media_bytes: int = 0) -> Path:
    """An archive with what a real export also holds: account details, direct messages, media files. None of it
    may leave the browser in privacy mode."""
    write_zip(path, tweets)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("data/account.js", 'window.YTD.account.part0 = [{"account": {"email": "owner@example.org"}}]')
        dm = {"dmConversation": {"messages": [{"messageCreate": {"text": SECRETS[0]}}]}}
        archive.writestr("data/direct-messages.js", "window.YTD.direct_messages.part0 = " + json.dumps([dm]))
        if media_bytes:
            # Random bytes do not compress: the zip grows by about media_bytes.
            archive.writestr("data/tweets_media/1001-photo.jpg", os.urandom(media_bytes))
    return path


def topic_tweets(count: int) -> list[dict]:
    """Tweets on four topics, enough for a small recipe to find clusters."""
    topics = ["maps and latent spaces", "cooking pasta at home", "rust compiler errors", "birds in the garden"]
    return [tweet(n, f"{topics[n % 4]}: thought number {n} about {topics[n % 4].split()[0]}") for n in range(count)]


def dated_topic_tweets(count: int) -> list[dict]:
    """topic_tweets spread over five years (2019-2023), a few every month, some liked, some replies: a timeline."""
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    tweets = topic_tweets(count)
    for n, item in enumerate(tweets):
        body = item["tweet"]
        month, day, hour = n * 7 % 60, 1 + n * 11 % 27, n * 5 % 24
        # X's format; the weekday is not checked against the date
        body["created_at"] = f"Mon {months[month % 12]} {day:02d} {hour:02d}:00:00 +0000 {2019 + month // 12}"
        body["favorite_count"] = str(n * 13 % 40)
        if n % 6 == 0:
            body["in_reply_to_status_id_str"] = "999"
    return tweets
