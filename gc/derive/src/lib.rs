//! `#[derive(Trace)]` for `cyclegc`, re-exported as `cyclegc::Trace`.
//!
//! For a struct or enum it generates an impl of `cyclegc::Trace` that:
//! - traces every field, except those marked `#[trace(skip)]`: if the type
//!   is exact, `trace` names the whole value as one place
//!   (`Tracer::place`), else each field;
//! - sets `MAY_CONTAIN_GC` to the OR of the traced fields' types (so a type
//!   without any `Gc` inside is untracked). A field whose type mentions the
//!   type being derived outside a `Gc<..>` or `Weak<..>` (`Option<Box<Self>>`)
//!   counts as `true`, because asking the compiler would be a cycle;
//!   `#[trace(tracked)]` on the type forces `true` outright (needed when the
//!   recursion is hidden, as in mutually recursive types or type aliases);
//! - sets `EXACT` to `Exact::certified()` and-ed with every traced field's
//!   type's `EXACT`, and writes `unsafe impl cyclegc::ExactTrace` (the
//!   generated `trace` visits each traced field once, in place, and
//!   nothing else, which is the promise that trait asks for). A field that
//!   counts as recursive above, or `#[trace(tracked)]`, makes it not exact
//!   (asking would be a cycle); that only costs the collector a discovery
//!   step, where the generated `trace` traces each field (an exact field
//!   names itself as a place);
//! - writes that impl's `trace_exact` (what the collector calls on exact
//!   values, compiled for each of its passes) with the same shape of body,
//!   reaching each field through the tracer's own method `field`, a
//!   method call on the `&mut cyclegc::Tracer` the trait's signature pins,
//!   so no path in the user's crate can redirect it;
//! - bounds every type parameter by `Trace`;
//! - with `#[trace(finalize)]` on the type, forwards `Trace::finalize` to
//!   the type's `cyclegc::Finalize` impl and sets `FINALIZE`.
//!
//! Unions are rejected: the derive cannot know which field is live.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2, TokenTree};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Type, parse_macro_input, parse_quote};

/// Derives `cyclegc::Trace`; see the crate documentation for the
/// attributes `#[trace(skip)]`, `#[trace(finalize)]` and
/// `#[trace(tracked)]`.
#[proc_macro_derive(Trace, attributes(trace))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(input) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Container options.
#[derive(Default)]
struct Options {
    finalize: bool,
    tracked: bool,
}

fn container_options(attrs: &[Attribute]) -> syn::Result<Options> {
    let mut options = Options::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("trace")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("finalize") {
                options.finalize = true;
                Ok(())
            } else if meta.path.is_ident("tracked") {
                options.tracked = true;
                Ok(())
            } else {
                Err(meta.error("unknown option: expected `finalize` or `tracked` on a type"))
            }
        })?;
    }
    Ok(options)
}

/// Whether a field has `#[trace(skip)]`.
fn skipped(attrs: &[Attribute]) -> syn::Result<bool> {
    let mut skip = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("trace")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error("unknown option: expected `skip` on a field"))
            }
        })?;
    }
    Ok(skip)
}

/// Whether `tokens` mention `name` or `Self` anywhere.
fn mentions(tokens: TokenStream2, name: &Ident) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == *name || ident == "Self",
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}

/// Whether asking for `ty`'s `MAY_CONTAIN_GC` could need the derived type's
/// own constant (a cycle the compiler rejects): it mentions the type, other
/// than inside the arguments of `Gc<..>` or `Weak<..>`, whose constants do
/// not depend on their argument. Unknown shapes count as recursive when
/// they mention the type at all; that is always safe (merely conservative).
fn recursive(ty: &Type, name: &Ident) -> bool {
    match ty {
        Type::Path(path) => {
            if let Some(qself) = &path.qself
                && recursive(&qself.ty, name)
            {
                return true;
            }
            path.path.segments.iter().any(|seg| {
                if seg.ident == *name || seg.ident == "Self" {
                    return true;
                }
                if seg.ident == "Gc" || seg.ident == "Weak" {
                    return false;
                }
                match &seg.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().any(|arg| match arg {
                            syn::GenericArgument::Type(t) => recursive(t, name),
                            other => mentions(quote!(#other), name),
                        })
                    }
                    syn::PathArguments::Parenthesized(args) => mentions(quote!(#args), name),
                    syn::PathArguments::None => false,
                }
            })
        }
        Type::Array(a) => recursive(&a.elem, name),
        Type::Slice(s) => recursive(&s.elem, name),
        Type::Paren(p) => recursive(&p.elem, name),
        Type::Group(g) => recursive(&g.elem, name),
        Type::Tuple(t) => t.elems.iter().any(|e| recursive(e, name)),
        other => mentions(quote!(#other), name),
    }
}

/// One traced field: the variable its pattern binds, and its type.
struct Field {
    binding: Ident,
    ty: Type,
}

/// The traced fields of one struct or variant, plus the pattern that binds
/// them by reference (`{ a: ref __f0, .. }` or `(ref __f0, _, ..)`).
fn fields(fields: &Fields) -> syn::Result<(Vec<Field>, TokenStream2)> {
    let mut traced = Vec::new();
    let mut pattern = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let skip = skipped(&field.attrs)?;
        let binding = format_ident!("__field{}", index, span = Span::mixed_site());
        let member = match &field.ident {
            Some(ident) => quote!(#ident),
            None => {
                let index = syn::Index::from(index);
                quote!(#index)
            }
        };
        if skip {
            if field.ident.is_none() {
                pattern.push(quote!(_));
            }
        } else {
            // `ref`: a binding, always. A bare identifier would match a
            // constant of that name in scope instead, and the trace would
            // then visit the constant, not the field, while `EXACT` vouches
            // for the field's type; with `ref` that is a compile error.
            pattern.push(match field.ident {
                Some(_) => quote!(#member: ref #binding),
                None => quote!(ref #binding),
            });
            traced.push(Field {
                binding,
                ty: field.ty.clone(),
            });
        }
    }
    let pattern = match fields {
        Fields::Named(_) => quote!({ #(#pattern,)* .. }),
        Fields::Unnamed(_) => quote!(( #(#pattern,)* .. )),
        Fields::Unit => quote!(),
    };
    Ok((traced, pattern))
}

fn expand(mut input: DeriveInput) -> syn::Result<TokenStream2> {
    let options = container_options(&input.attrs)?;
    let name = input.ident.clone();
    let tracer = Ident::new("__tracer", Span::mixed_site());

    let pass = Ident::new("__CyclegcPass", Span::mixed_site());
    // The body twice: once calling each field's `trace`, once reporting it
    // through `Tracer::field` in the pass (for `ExactTrace::trace_exact`).
    let trace_call = |b: &Ident| quote!(::cyclegc::Trace::trace(#b, #tracer););
    let pass_call = |b: &Ident| quote!(#tracer.field::<#pass, _>(#b););
    let mut all_fields: Vec<Field> = Vec::new();
    let (body, pass_body) = match &input.data {
        Data::Struct(data) => {
            let (traced, pattern) = fields(&data.fields)?;
            let body = |call: &dyn Fn(&Ident) -> TokenStream2| {
                let calls = traced.iter().map(|f| call(&f.binding));
                quote! {
                    let #name #pattern = *self;
                    #(#calls)*
                }
            };
            let bodies = (body(&trace_call), body(&pass_call));
            all_fields.extend(traced);
            bodies
        }
        Data::Enum(data) => {
            let mut variants = Vec::new();
            for variant in &data.variants {
                let (traced, pattern) = fields(&variant.fields)?;
                variants.push((&variant.ident, traced.len(), pattern));
                all_fields.extend(traced);
            }
            let body = |call: &dyn Fn(&Ident) -> TokenStream2| {
                let mut fields = all_fields.iter();
                let arms = variants.iter().map(|(ident, count, pattern)| {
                    let calls = fields.by_ref().take(*count).map(|f| call(&f.binding));
                    quote!(#name::#ident #pattern => { #(#calls)* })
                });
                quote! {
                    match *self {
                        #(#arms)*
                        #[allow(unreachable_patterns)]
                        _ => {}
                    }
                }
            };
            (body(&trace_call), body(&pass_call))
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span(),
                "#[derive(Trace)] cannot be used on unions: implement Trace by hand",
            ));
        }
    };

    let may_contain = if options.tracked {
        quote!(true)
    } else {
        let terms = all_fields.iter().map(|f| {
            let ty = &f.ty;
            if recursive(ty, &name) {
                quote!(true)
            } else {
                quote!(<#ty as ::cyclegc::Trace>::MAY_CONTAIN_GC)
            }
        });
        quote!(false #(|| #terms)*)
    };

    // Exact when every traced field's type is. A field that needs the
    // derived type's own constants (see `recursive`) makes it inexact:
    // asking would be a cycle, and inexact only costs the collector a
    // discovery step (its fields are still traced exactly, as places).
    let exact = if options.tracked {
        quote!(::cyclegc::Exact::NO)
    } else {
        let mut terms = Vec::new();
        let mut cyclic = false;
        for f in &all_fields {
            let ty = &f.ty;
            if recursive(ty, &name) {
                cyclic = true;
            } else {
                terms.push(quote!(.and(<#ty as ::cyclegc::Trace>::EXACT)));
            }
        }
        if cyclic {
            quote!(::cyclegc::Exact::NO)
        } else {
            quote!(::cyclegc::Exact::certified() #(#terms)*)
        }
    };

    let finalize = if options.finalize {
        quote! {
            const FINALIZE: bool = true;
            fn finalize(&self) {
                <Self as ::cyclegc::Finalize>::finalize(self)
            }
        }
    } else {
        quote!()
    };

    let params: Vec<Ident> = input
        .generics
        .type_params()
        .map(|p| p.ident.clone())
        .collect();
    let where_clause = input.generics.make_where_clause();
    for param in &params {
        where_clause
            .predicates
            .push(parse_quote!(#param: ::cyclegc::Trace));
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::cyclegc::Trace for #name #ty_generics #where_clause {
            const MAY_CONTAIN_GC: bool = #may_contain;
            const EXACT: ::cyclegc::Exact<Self> = #exact;
            #finalize
            #[inline]
            #[allow(unused_variables)]
            fn trace<'__cyclegc_trace>(
                &'__cyclegc_trace self,
                #tracer: &mut ::cyclegc::Tracer<'__cyclegc_trace>,
            ) {
                // An exact value is traced by the collector itself; this
                // only names it. Otherwise each field names itself.
                if !#tracer.place(self) {
                    #body
                }
            }
        }

        // SAFETY: `trace_exact` reports each field not marked
        // `#[trace(skip)]` once, in place, through the tracer's own
        // `field` (which runs the field type's `trace_exact`, or nothing),
        // and does nothing else; `trace` above visits the same fields;
        // `EXACT` ands in every traced field's type.
        #[automatically_derived]
        unsafe impl #impl_generics ::cyclegc::ExactTrace for #name #ty_generics #where_clause {
            #[inline]
            #[allow(unused_variables)]
            fn trace_exact<#pass: ::cyclegc::Pass>(&self, #tracer: &mut ::cyclegc::Tracer<'_>) {
                #pass_body
            }
        }
    })
}
