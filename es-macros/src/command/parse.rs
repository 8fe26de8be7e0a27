//! `#[derive(Command)]` input -> [`Command`]: finds the `#[id]` field.

use crate::internals::errors::require_bare;
use crate::internals::symbol::ID;
use crate::internals::{CratePath, Errors};

use super::model::{Command, IdField, NotStruct};

pub(super) fn parse(input: &syn::DeriveInput, errors: &mut Errors) -> Command {
    let mut command = Command {
        ident: input.ident.clone(),
        generics: input.generics.clone(),
        not_struct: None,
        ids: Vec::new(),
        krate: CratePath::default(),
    };
    let fields = match &input.data {
        syn::Data::Struct(data) => &data.fields,
        syn::Data::Enum(data) => {
            command.not_struct = Some(NotStruct::Enum(data.enum_token));
            return command;
        }
        syn::Data::Union(data) => {
            command.not_struct = Some(NotStruct::Union(data.union_token));
            return command;
        }
    };
    for (index, field) in fields.iter().enumerate() {
        let mut marked: Option<&syn::Attribute> = None;
        for attr in field.attrs.iter().filter(|attr| attr.path().is_ident(ID)) {
            require_bare(attr, ID, errors);
            if let Some(first) = marked {
                errors.duplicate(
                    attr,
                    "duplicate `#[id]` on one field; remove this one",
                    first,
                );
                continue;
            }
            marked = Some(attr);
        }
        if let Some(attr) = marked {
            command.ids.push(IdField {
                attr: attr.clone(),
                member: field.ident.clone().map_or_else(
                    || syn::Member::Unnamed(syn::Index::from(index)),
                    syn::Member::Named,
                ),
                ty: field.ty.clone(),
            });
        }
    }
    command
}
