"""GitHub webhook deliveries of realistic size (10-25 KB) for the ingest benchmark.

The fixtures under data/fixtures/github are trimmed to the fields vsmml reads; real deliveries
carry the full repository, sender, organisation, enterprise, installation and app objects
(GitHub documents them), which make them 10-30 KB. This pads each fixture with those objects in
their documented shape and varies ids so every delivery is distinct.
"""

from __future__ import annotations

import copy
import glob
import json
from pathlib import Path

FIX = str(Path(__file__).resolve().parents[1] / "data" / "fixtures" / "github")


def user(login, i):
    base = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": i,
        "node_id": "MDQ6VXNlcjIxMDMxMDY3",
        "avatar_url": f"https://avatars1.githubusercontent.com/u/{i}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "followers_url": base + "/followers",
        "following_url": base + "/following{/other_user}",
        "gists_url": base + "/gists{/gist_id}",
        "starred_url": base + "/starred{/owner}{/repo}",
        "subscriptions_url": base + "/subscriptions",
        "organizations_url": base + "/orgs",
        "repos_url": base + "/repos",
        "events_url": base + "/events{/privacy}",
        "received_events_url": base + "/received_events",
        "type": "User",
        "site_admin": False,
    }


def repo(full, rid):
    owner, name = full.split("/")
    b = f"https://api.github.com/repos/{full}"
    r = {
        "id": rid,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": name,
        "full_name": full,
        "private": False,
        "owner": user(owner, rid + 7),
        "html_url": f"https://github.com/{full}",
        "description": "A service of the value stream",
        "fork": False,
        "url": b,
    }
    for k in (
        "forks",
        "keys",
        "collaborators",
        "teams",
        "hooks",
        "issue_events",
        "events",
        "assignees",
        "branches",
        "tags",
        "blobs",
        "git_tags",
        "git_refs",
        "trees",
        "statuses",
        "languages",
        "stargazers",
        "contributors",
        "subscribers",
        "subscription",
        "commits",
        "git_commits",
        "comments",
        "issue_comment",
        "contents",
        "compare",
        "merges",
        "archive",
        "downloads",
        "issues",
        "pulls",
        "milestones",
        "notifications",
        "labels",
        "releases",
        "deployments",
    ):
        r[f"{k}_url"] = f"{b}/{k}{{/id}}"
    r["security_and_analysis"] = {
        k: {"status": "disabled"}
        for k in (
            "advanced_security",
            "secret_scanning",
            "secret_scanning_push_protection",
            "dependabot_security_updates",
        )
    }
    r["permissions"] = {
        "admin": False,
        "maintain": False,
        "push": True,
        "triage": True,
        "pull": True,
    }
    r["custom_properties"] = {"team": "payments", "tier": "1", "cost_center": "cc-4711"}
    r["description"] = "A service of the value stream. " * 8
    r.update(
        {
            "created_at": "2019-05-15T15:19:25Z",
            "updated_at": "2019-05-15T15:21:03Z",
            "pushed_at": "2019-05-15T15:20:57Z",
            "git_url": f"git://github.com/{full}.git",
            "ssh_url": f"git@github.com:{full}.git",
            "clone_url": f"https://github.com/{full}.git",
            "svn_url": f"https://github.com/{full}",
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": "Python",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": True,
            "forks_count": 1,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": 2,
            "license": None,
            "forks": 1,
            "open_issues": 2,
            "watchers": 0,
            "default_branch": "main",
            "topics": ["delivery", "vsm"],
        }
    )
    return r


def load():
    out = []
    for path in sorted(glob.glob(FIX + "/*.json")):
        env = json.loads(Path(path).read_text())
        out.append((env["event"], env["payload"]))
    return out


def enlarge(event, payload, i):
    p = copy.deepcopy(payload)
    full = (p.get("repository") or {}).get("full_name") or "acme/service"
    owner, name = full.split("/")
    full = f"{owner}/{name}-{i % 50}"
    rid = 186853002 + i % 50
    p["repository"] = {
        **repo(full, rid),
        **{
            k: v
            for k, v in p.get("repository", {}).items()
            if k not in ("full_name", "name", "id", "owner")
        },
    }
    p["sender"] = user("octocat", 583231)
    p["organization"] = {
        "login": owner,
        "id": 6811672,
        "url": f"https://api.github.com/orgs/{owner}",
        "description": "",
        "repos_url": f"https://api.github.com/orgs/{owner}/repos",
    }
    p["enterprise"] = {
        "id": 1,
        "slug": owner,
        "name": owner.title(),
        "node_id": "MDEwOkVudGVycHJpc2Ux",
        "avatar_url": "https://avatars.githubusercontent.com/b/1?v=4",
        "description": "",
        "website_url": f"https://{owner}.example",
        "html_url": f"https://github.com/enterprises/{owner}",
        "created_at": "2019-05-14T19:31:12Z",
        "updated_at": "2019-05-14T19:31:12Z",
    }
    if "pull_request" not in p and event != "workflow_run":
        app = {
            "id": 15368,
            "slug": "github-actions",
            "node_id": "MDM6QXBwMTUzNjg=",
            "owner": user("github", 9919),
            "name": "GitHub Actions",
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": "https://github.com/apps/github-actions",
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2019-12-10T19:04:12Z",
            "permissions": dict.fromkeys(
                (
                    "actions",
                    "checks",
                    "contents",
                    "deployments",
                    "issues",
                    "metadata",
                    "packages",
                    "pages",
                    "pull_requests",
                    "repository_hooks",
                    "repository_projects",
                    "statuses",
                    "vulnerability_alerts",
                ),
                "write",
            ),
            "events": [
                "check_run",
                "check_suite",
                "create",
                "delete",
                "deployment",
                "deployment_status",
                "fork",
                "gollum",
                "issues",
                "issue_comment",
                "label",
                "milestone",
                "page_build",
                "project",
                "project_card",
                "project_column",
                "public",
                "pull_request",
                "pull_request_review",
                "pull_request_review_comment",
                "push",
                "registry_package",
                "release",
                "repository",
                "repository_dispatch",
                "status",
                "watch",
                "workflow_dispatch",
                "workflow_run",
            ],
        }
        for key in ("deployment", "deployment_status", "issue", "release", "workflow_job"):
            if isinstance(p.get(key), dict):
                p[key]["performed_via_github_app"] = app
                p[key]["creator"] = user("octocat", 583231)
        p["performed_via_github_app"] = app
    p["installation"] = {
        "id": 2311213,
        "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMjMxMTIxMw==",
    }
    if "pull_request" in p:
        pr = p["pull_request"]
        pr["user"] = user("octocat", 583231)
        for side in ("head", "base"):
            pr.setdefault(side, {})["repo"] = repo(full, rid)
            pr[side]["user"] = user(owner, 6811672)
            pr[side]["label"] = f"{owner}:{pr[side].get('ref', 'main')}"
        pr["body"] = "Implements the change. " * 40
        pr["_links"] = {
            k: {"href": f"https://api.github.com/repos/{full}/pulls/{pr.get('number', 1)}/{k}"}
            for k in (
                "self",
                "html",
                "issue",
                "comments",
                "review_comments",
                "review_comment",
                "commits",
                "statuses",
            )
        }
        pr["number"] = i
        p["number"] = i
        pr["html_url"] = f"https://github.com/{full}/pull/{i}"
        pr["url"] = f"https://api.github.com/repos/{full}/pulls/{i}"
        pr["id"] = 279147439 + i
    for key in (
        "workflow_run",
        "workflow_job",
        "deployment",
        "deployment_status",
        "release",
        "issue",
        "review",
    ):
        if key in p and isinstance(p[key], dict):
            if "id" in p[key]:
                p[key]["id"] = p[key]["id"] + i * 1000
            p[key]["repository"] = repo(full, rid) if key == "workflow_run" else None
            p[key].setdefault("user", user("octocat", 583231))
            if key == "workflow_run":
                p[key]["head_repository"] = repo(full, rid)
    if event == "push":
        p["pusher"] = {"name": owner, "email": f"{owner}@users.noreply.github.com"}
        for c in p.get("commits", []):
            c["added"] = [f"src/{name}/module_{k}.py" for k in range(6)]
            c["modified"] = [f"src/{name}/core/file_{k}.py" for k in range(12)]
            c["removed"] = []
            c["tree_id"] = "f9d2a07e9488b91af2641b26b9407fe22a451433"
            c["url"] = f"https://github.com/{full}/commit/{c.get('id')}"
            c["author"] = {"name": "Octo Cat", "email": "octocat@github.com", "username": "octocat"}
            c["committer"] = dict(c["author"])
    if "commits" in p and isinstance(p["commits"], list):
        for c in p["commits"]:
            c["id"] = (
                f"{(int(str(c.get('id', '0'))[:8] or '0', 16) + i):08x}" + str(c.get("id", "x"))[8:]
            )
        if p["commits"]:
            p["after"] = p["commits"][-1]["id"]
        p["head_commit"] = p["commits"][-1] if p["commits"] else None
    return dict(p.items())


def payloads(n, seed=0):
    base = load()
    for i in range(n):
        event, payload = base[i % len(base)]
        yield event, enlarge(event, payload, i)


if __name__ == "__main__":
    import statistics

    sizes = []
    for e, p in payloads(27):
        sizes.append(len(json.dumps({"event": e, "payload": p})))
    print(min(sizes), statistics.median(sizes), max(sizes))
