"""automator: operations automation and remediation for data-centre servers and network gear.

Packages, core first (each may import only those listed before it):

- ``errors``, ``config``: the exception tree and settings
- ``inventory``: hosts, groups, validation, filters, Ansible export
- ``store``: SQLAlchemy models and migrations
- ``runners``: Nornir (paramiko, netmiko) and ansible-runner; per-host outcomes
- ``tickets``: tickets and their timeline
- ``runbooks``: the catalogue of what operators run by hand
- ``jobs``: the one pipeline: job, gate, executor, run, ticket
- ``cli``, ``lab``: the edges
"""

__version__ = "0.1.0"
