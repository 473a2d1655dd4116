# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options and attributes shared by the Heroku Platform API modules."""

    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  platform:
    platforms: all
    details: The module talks to the Heroku Platform API over HTTPS, so it runs wherever the task runs, usually the controller.
options:
  api_key:
    description:
      - A Heroku API key or OAuth token (C(heroku authorizations:create) makes a long-lived one).
      - When not given, the E(HEROKU_API_KEY) environment variable is used; the AWX credential type shipped with the
        collection (C(extensions/awx/heroku_credential_type.yml)) sets it.
      - It is sent only to O(api_url), never to the upload, build output or log URLs the API hands out, and never along
        a redirect (see O(api_url)).
      - White space around it (a key read from a file with its newline) is removed. A key with white space, line
        breaks or control characters inside it, or characters beyond Latin-1, is refused before any request, without
        showing it.
    type: str
  api_url:
    description:
      - The Platform API endpoint. Change it only for a proxy or a test service.
      - When not given, the E(HEROKU_API_URL) environment variable is used, then V(https://api.heroku.com).
      - It must be the root of the API, C(https://host[:port]) with no path (or C(/)), query, fragment, user name or
        password; C(http://) only with O(allow_http=true).
      - The API's redirects are not followed (the API key would go along); a redirect fails the task with the
        address it points to, without the key.
    type: str
  allow_http:
    description:
      - Allow an O(api_url) with C(http://), which sends the API key unencrypted. Only for a local test service.
    type: bool
    default: false
  validate_certs:
    description:
      - Check the TLS certificates of the API and of the URLs it hands out (uploads, streams, one-off dyno attachment).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of certificate authorities to trust instead of the system ones. It must exist and be a file.
      - An untrusted certificate, or one for another host name, fails the task at once (it is not retried).
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is repeated when the API answers 429 (rate limit) or 503, and, for requests other than
        C(POST), 500, 502 or 504 or a connection error. The delay doubles each time, starting at O(retry_delay) and
        capped at 60 seconds; a C(Retry-After) header wins.
      - When C(RateLimit-Remaining) falls low, requests are spaced out by O(retry_delay) before the limit is hit.
      - A refused connection is retried at most twice, and an untrusted certificate not at all.
      - All tries and waits of one request end within O(total_timeout).
    type: int
    default: 5
  retry_delay:
    description:
      - The first delay between retries, in seconds.
    type: float
    default: 2.0
  total_timeout:
    description:
      - Seconds one API request may take in all, its tries and the waits between them included. A wait that would
        go past it (such as a long C(Retry-After)) fails the task at once, saying so.
      - It does not bound the waits of the modules themselves (builds, one-off dynos, log tails); their own
        C(wait_timeout) or C(tail_seconds) does.
    type: int
    default: 300
notes:
  - >-
    The modules talk to the L(Heroku Platform API v3,https://devcenter.heroku.com/articles/platform-api-reference) with
    the header C(Accept: application/vnd.heroku+json; version=3); the Heroku CLI is not needed.
"""

    # The app a module works on (all but heroku_app, which names it O(name)).
    APP = r"""
options:
  app:
    description:
      - The app's name or id.
    type: str
    required: true
"""
