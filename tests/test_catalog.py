"""Service catalogue: our YAML and Backstage entities to frames, and attribution of events."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vsmml.errors import SchemaError
from vsmml.events.catalog import attribute, normalise_repo, parse_catalog


@pytest.fixture(scope="module")
def catalog_texts(fixtures_dir: Path) -> list[str]:
    base = fixtures_dir / "catalog"
    return [(base / "services.yaml").read_text(), (base / "catalog-info.yaml").read_text()]


def test_our_format(catalog_texts: list[str]) -> None:
    cat = parse_catalog(catalog_texts[0])
    assert list(cat.services["service"]) == ["checkout", "payments-api", "inventory"]
    row = cat.services.set_index("service").loc["checkout"]
    assert (row["team"], row["system"]) == ("payments", "shop")
    assert row["repos"] == ["acme/checkout", "https://github.com/acme/checkout-ui.git"]
    assert row["deploy_targets"] == ["k8s/prod/checkout"]
    assert cat.dependencies.values.tolist() == [
        ["checkout", "payments-api"],
        ["checkout", "inventory"],
    ]
    listed = parse_catalog({"services": [{"name": "a", "team": "t", "depends_on": "b"}]})
    assert listed.dependencies.values.tolist() == [["a", "b"]]


def test_backstage_entities(catalog_texts: list[str]) -> None:
    cat = parse_catalog(catalog_texts[1])
    got = cat.services.set_index("service")
    assert list(got.index) == ["search", "indexer", "web"]
    assert got.loc["search", "team"] == "search-team"  # from the System's owner
    assert got.loc["indexer", "team"] == "data-team"
    assert got.loc["search", "repos"] == ["acme/search"]
    assert got.loc["indexer", "repos"] == ["acme/indexer"]
    assert got.loc["search", "pipelines"] == ["discovery/search"]
    assert got.loc["search", "deploy_targets"] == ["search"]
    assert cat.dependencies.values.tolist() == [["search", "indexer"], ["web", "search"]]


def test_both_formats_merge(catalog_texts: list[str]) -> None:
    cat = parse_catalog(catalog_texts)
    assert len(cat.services) == 6
    assert len(cat.dependencies) == 4


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("services: [1, 2]", "needs a name"),
        ("services: 3", "mapping or a list"),
        ("teams: []", "needs a 'services' key"),
        ("services:\n  a:\n    repos: {x: 1}", "'repos' must be a list"),
        ("services: [", "not valid YAML"),
        ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {}", "metadata.name"),
    ],
)
def test_bad_catalogues_name_the_field(text: str, match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        parse_catalog(text)


def test_attribute_events(catalog_texts: list[str]) -> None:
    cat = parse_catalog(catalog_texts)
    events = pd.DataFrame(
        {
            "kind": [
                "commit",
                "pipeline.finished",
                "deploy.finished",
                "commit",
                "commit",
                "commit",
            ],
            "repo": [
                "ACME/Checkout",
                None,
                None,
                "git@github.com:acme/checkout-ui.git",
                "x/y",
                "acme/search",
            ],
            "pipeline_id": [None, "payments-build#12", None, None, None, None],
            "deploy_id": [None, None, "d1", None, None, None],
            "service": [None, None, None, None, None, "already"],
            "attrs": [None, None, '{"target": "k8s/prod/checkout"}', None, None, None],
        }
    )
    out = attribute(events, cat.services)
    assert list(out["service"].fillna("-")) == [
        "checkout",
        "payments-api",
        "checkout",
        "checkout",
        "-",
        "already",
    ]
    assert list(out["team"].fillna("-")) == ["payments", "payments", "payments", "payments", "-",
                                             "-"]  # fmt: skip
    again = attribute(events, cat.services, overwrite=True)
    assert again["service"].iloc[5] == "search"
    assert again["team"].iloc[5] == "search-team"
    minimal = attribute(
        pd.DataFrame({"kind": ["commit"], "repo": ["acme/inventory"]}), cat.services
    )
    assert (minimal["service"].iloc[0], minimal["team"].iloc[0]) == ("inventory", "logistics")


def test_normalise_repo() -> None:
    assert normalise_repo("https://github.com/Acme/Shop.git/") == "acme/shop"
    assert normalise_repo("git@gitlab.com:acme/sub/shop.git") == "sub/shop"
    assert normalise_repo("  ") is None
    assert normalise_repo(None) is None


def test_an_empty_catalogue_is_a_warning_not_an_error() -> None:
    empty = parse_catalog(["", "# only a comment\n"], names=["a.yaml", "b.yaml"])
    assert empty.services.empty
    assert empty.warnings == [
        "a.yaml is empty: no service in it, nothing is attributed",
        "b.yaml is empty: no service in it, nothing is attributed",
    ]
    nameless = parse_catalog({"services": {}})
    assert nameless.warnings == [
        "the catalogue names no service (no `services` entry, no Component)"
    ]
    assert parse_catalog({"services": {"a": {"team": "t"}}}).warnings == []
