//! Snapshot of the public API (item signatures) of the generated code and of the hand-written
//! files, so that a regeneration that changes the surface shows up in review.
//!
//! The signatures are extracted with `syn`: public items only, function bodies emptied, docs
//! dropped, `derive` and `serde` attributes kept (they are part of the wire contract); trait impls
//! are kept whole since they are public whatever their items' visibility.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use syn::{Attribute, Block, ImplItem, Item, Visibility};

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

fn keep_attrs(attrs: &mut Vec<Attribute>) {
    attrs.retain(|a| {
        a.path().is_ident("derive")
            || a.path().is_ident("serde")
            || a.path().is_ident("non_exhaustive")
    });
}

fn empty_block() -> Block {
    Block {
        brace_token: Default::default(),
        stmts: Vec::new(),
    }
}

fn reduce_items(items: Vec<Item>) -> Vec<Item> {
    items.into_iter().filter_map(reduce_item).collect()
}

fn reduce_item(item: Item) -> Option<Item> {
    match item {
        Item::Use(mut u) if is_pub(&u.vis) => {
            keep_attrs(&mut u.attrs);
            Some(Item::Use(u))
        }
        Item::Mod(mut m) if is_pub(&m.vis) => {
            keep_attrs(&mut m.attrs);
            if let Some((brace, items)) = m.content.take() {
                m.content = Some((brace, reduce_items(items)));
            }
            Some(Item::Mod(m))
        }
        Item::Struct(mut s) if is_pub(&s.vis) => {
            keep_attrs(&mut s.attrs);
            let fields: Vec<syn::Field> = s
                .fields
                .iter()
                .filter(|f| is_pub(&f.vis))
                .cloned()
                .map(|mut f| {
                    keep_attrs(&mut f.attrs);
                    f
                })
                .collect();
            match &mut s.fields {
                syn::Fields::Named(named) => named.named = fields.into_iter().collect(),
                syn::Fields::Unnamed(unnamed) => unnamed.unnamed = fields.into_iter().collect(),
                syn::Fields::Unit => {}
            }
            Some(Item::Struct(s))
        }
        Item::Enum(mut e) if is_pub(&e.vis) => {
            keep_attrs(&mut e.attrs);
            for v in &mut e.variants {
                keep_attrs(&mut v.attrs);
            }
            Some(Item::Enum(e))
        }
        Item::Type(mut t) if is_pub(&t.vis) => {
            keep_attrs(&mut t.attrs);
            Some(Item::Type(t))
        }
        Item::Trait(mut t) if is_pub(&t.vis) => {
            keep_attrs(&mut t.attrs);
            for item in &mut t.items {
                if let syn::TraitItem::Fn(f) = item {
                    f.attrs.clear();
                    f.default = None;
                }
            }
            Some(Item::Trait(t))
        }
        Item::Const(mut c) if is_pub(&c.vis) => {
            keep_attrs(&mut c.attrs);
            Some(Item::Const(c))
        }
        Item::Fn(mut f) if is_pub(&f.vis) => {
            f.attrs.clear();
            *f.block = empty_block();
            Some(Item::Fn(f))
        }
        Item::Impl(mut i) => {
            let is_trait_impl = i.trait_.is_some();
            i.attrs.clear();
            i.items = i
                .items
                .into_iter()
                .filter_map(|item| match item {
                    ImplItem::Fn(mut f) if is_trait_impl || is_pub(&f.vis) => {
                        f.attrs.clear();
                        f.block = empty_block();
                        Some(ImplItem::Fn(f))
                    }
                    ImplItem::Type(mut t) => {
                        t.attrs.clear();
                        Some(ImplItem::Type(t))
                    }
                    ImplItem::Const(mut c) if is_trait_impl || is_pub(&c.vis) => {
                        c.attrs.clear();
                        Some(ImplItem::Const(c))
                    }
                    _ => None,
                })
                .collect();
            if i.items.is_empty() && !is_trait_impl {
                None
            } else {
                Some(Item::Impl(i))
            }
        }
        _ => None,
    }
}

fn public_api(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let file = syn::parse_file(&text).unwrap();
    let reduced = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: reduce_items(file.items),
    };
    prettyplease::unparse(&reduced)
}

fn src(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file)
}

#[test]
fn generated_public_api() {
    let api = public_api(&src("generated.rs"));
    // Sanity: the extraction sees the five operations and drops private items.
    for op in [
        "pub fn communication_identity_create(",
        "pub fn communication_identity_delete(",
        "pub fn communication_identity_revoke_access_tokens(",
        "pub fn communication_identity_issue_access_token(",
        "pub fn communication_identity_exchange_teams_user_access_token(",
    ] {
        assert!(api.contains(op), "{op} missing");
    }
    assert!(
        !api.contains("encode_path_parameter"),
        "function bodies are not API"
    );
    insta::assert_snapshot!("generated_public_api", api);
}

#[test]
fn hand_written_public_api() {
    let api = format!(
        "// lib.rs\n{}\n// hooks.rs\n{}\n// datetime.rs\n{}",
        public_api(&src("lib.rs")),
        public_api(&src("hooks.rs")),
        public_api(&src("datetime.rs"))
    );
    assert!(api.contains("pub trait RequestExecutor"));
    assert!(api.contains("pub struct DateTime("));
    assert!(
        !api.contains("encode_path_parameter"),
        "pub(crate) items are not API"
    );
    insta::assert_snapshot!("hand_written_public_api", api);
}
