# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Credentials, endpoints and attributes shared by the Google App Engine modules."""

    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  platform:
    platforms: all
    details: >-
      The module calls the App Engine Admin API v1 and Cloud Storage with Google's client libraries, so it runs
      wherever the task runs, usually the controller. C(module_defaults) for C(group/jvmops.deploy.appengine) set
      the credentials once per play.
notes:
  - The credential options are those of the google.cloud collection, with the same environment variables, so an
    existing C(GCP_*) setup works unchanged.
  - In AWX or Automation Controller, the built-in Google Compute Engine credential sets E(GCP_SERVICE_ACCOUNT_FILE),
    E(GCP_AUTH_KIND) and E(GCP_PROJECT), which these options read; older releases set only
    E(GCE_CREDENTIALS_FILE_PATH), to be passed as O(service_account_file) with the P(ansible.builtin.env#lookup) lookup.
requirements:
  - google-cloud-appengine-admin >= 1.10.0
  - google-cloud-storage >= 2.10.0
  - google-auth >= 2.20.0
options:
  project:
    description:
      - The Google Cloud project that holds the App Engine application.
      - 6 to 30 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with
        a hyphen. This is checked before any call.
      - When not given, the E(GCP_PROJECT) environment variable is used.
    type: str
    required: true
  auth_kind:
    description:
      - How to authenticate, as in the google.cloud collection.
      - V(application) uses the application default credentials (E(GOOGLE_APPLICATION_CREDENTIALS),
        C(gcloud auth application-default login), or the metadata server on Google Cloud).
      - V(serviceaccount) uses the key in O(service_account_file) or O(service_account_contents).
      - V(accesstoken) uses O(access_token) as it is.
      - When not given, the E(GCP_AUTH_KIND) environment variable is used. Without either, the kind follows from
        the options given (O(access_token), then a service account key, then V(application)).
    type: str
    choices: [application, serviceaccount, accesstoken]
  service_account_file:
    description:
      - The path of a service account's JSON key file, for O(auth_kind=serviceaccount).
      - When not given, the E(GCP_SERVICE_ACCOUNT_FILE) environment variable is used.
    type: path
  service_account_contents:
    description:
      - The content of a service account's JSON key, for O(auth_kind=serviceaccount). It is never shown.
      - When not given, the E(GCP_SERVICE_ACCOUNT_CONTENTS) environment variable is used.
    type: jsonarg
  access_token:
    description:
      - An OAuth 2.0 access token, for O(auth_kind=accesstoken). It is never shown.
      - When not given, the E(GCP_ACCESS_TOKEN) environment variable is used.
    type: str
  scopes:
    description:
      - OAuth scopes of the credentials. The default is V(https://www.googleapis.com/auth/cloud-platform).
      - When not given, the E(GCP_SCOPES) environment variable is used.
    type: list
    elements: str
  api_endpoint:
    description:
      - The App Engine Admin API endpoint, C(http(s)://host[:port]). Change it only for a proxy or a test service.
      - When not given, the E(APPENGINE_API_ENDPOINT) environment variable is used, then Google's endpoint.
    type: str
  storage_endpoint:
    description:
      - The Cloud Storage endpoint for the staging bucket, C(http(s)://host[:port]). Change it only for a proxy or
        a test service.
      - When not given, the E(STORAGE_EMULATOR_HOST) environment variable is used (as google-cloud-storage does),
        then Google's endpoint.
    type: str
"""
