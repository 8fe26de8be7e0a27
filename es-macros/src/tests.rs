//! Expansion snapshots: each macro's expansion of a canonical input, formatted, compared with the
//! checked-in snapshot under `src/snapshots/`. Review a change with `cargo insta review` or
//! `INSTA_UPDATE=always cargo test -p es-macros` and the diff.

use proc_macro2::TokenStream;
use quote::quote;

fn pretty(tokens: TokenStream) -> String {
    let file = syn::parse2::<syn::File>(tokens).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn event_defaults() {
    let input = quote! {
        #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
        pub struct MoneyDeposited { pub amount: u64 }
    };
    insta::assert_snapshot!(pretty(crate::event::derive(input)));
}

#[test]
fn event_name_and_version() {
    let input = quote! {
        #[derive(Event)]
        #[event(name = "account.opened", version = 3, crate = "::my_es")]
        pub enum AccountOpened { Personal { owner: String }, Business(String) }
    };
    insta::assert_snapshot!(pretty(crate::event::derive(input)));
}

#[test]
fn event_upcasters() {
    let input = quote! {
        #[derive(Event)]
        #[event(version = 3, upcasters = [v1_to_v2, upcast::v2_to_v3])]
        pub struct AccountOpened { pub owner: String, pub currency: String }
    };
    insta::assert_snapshot!(pretty(crate::event::derive(input)));
}

#[test]
fn event_errors() {
    let input = quote! {
        #[derive(Event)]
        #[event(version = 0, nmae = "x")]
        pub struct Opened;
    };
    insta::assert_snapshot!(pretty(crate::event::derive(input)));
}

#[test]
fn command_named_field() {
    let input = quote! {
        #[derive(Command)]
        pub struct Withdraw { #[id] pub account: AccountId, pub amount: u64 }
    };
    insta::assert_snapshot!(pretty(crate::command::derive(input)));
}

#[test]
fn command_tuple_field() {
    let input = quote! {
        #[derive(Command)]
        pub struct Close(pub u8, #[id] pub String);
    };
    insta::assert_snapshot!(pretty(crate::command::derive(input)));
}

#[test]
fn command_without_id() {
    let input = quote! {
        #[derive(Command)]
        pub struct Close { pub account: String }
    };
    insta::assert_snapshot!(pretty(crate::command::derive(input)));
}

#[test]
fn aggregate_bank() {
    let args = quote!(name = "bank-account", error = BankError);
    let item = quote! {
        impl BankAccount {
            #[handle]
            fn withdraw(&self, cmd: Withdraw) -> Result<MoneyWithdrawn, BankError> {
                if cmd.amount > self.balance {
                    return Err(BankError::InsufficientFunds);
                }
                Ok(MoneyWithdrawn { amount: cmd.amount })
            }

            #[handle]
            fn close(&self, _cmd: CloseAccount) {}

            #[apply]
            fn withdrawn(&mut self, e: &MoneyWithdrawn) {
                self.balance -= e.amount;
            }

            /// Left alone.
            fn balance(&self) -> u64 {
                self.balance
            }
        }
    };
    insta::assert_snapshot!(pretty(crate::aggregate::attribute(args, item)));
}

#[test]
fn aggregate_snapshots() {
    let args = quote!(snapshot_every = 500, snapshot_version = 3);
    let item = quote! {
        impl Counter {
            #[apply]
            fn pinged(&mut self, _: &Pinged) {
                self.pings += 1;
            }
        }
    };
    insta::assert_snapshot!(pretty(crate::aggregate::attribute(args, item)));
}

#[test]
fn aggregate_async_services_and_cfg() {
    let args = quote!(services = Pricing, event = OrderFact, command = OrderRequest, vis = pub(crate), crate = "::my_es");
    let item = quote! {
        impl Order {
            #[handle]
            async fn price(&self, cmd: Price, pricing: &Pricing) -> Vec<Priced> {
                vec![Priced { cents: pricing.quote(cmd.items).await }]
            }

            #[cfg(feature = "audit")]
            #[handle]
            fn audit(&self, cmd: audit::Audit) -> (Audited, Option<Priced>) {
                (Audited, None)
            }

            #[apply]
            fn priced(&mut self, e: &Priced) {}

            #[cfg(feature = "audit")]
            #[apply]
            fn audited(&mut self, e: &Audited) {}
        }
    };
    insta::assert_snapshot!(pretty(crate::aggregate::attribute(args, item)));
}

#[test]
fn aggregate_errors_keep_the_block() {
    let args = quote!(nmae = "x");
    let item = quote! {
        impl Account {
            #[handle]
            fn open(&mut self, cmd: Open) -> Opened { Opened }

            #[apply]
            async fn opened(&mut self, e: &Opened) {}
        }
    };
    insta::assert_snapshot!(pretty(crate::aggregate::attribute(args, item)));
}

#[test]
fn projection_read_model() {
    let args = quote!(name = "balances");
    let item = quote! {
        impl Balances {
            #[on]
            fn deposited(&mut self, e: &MoneyDeposited, meta: &EventMeta) {
                *self.by_stream.entry(meta.stream().to_owned()).or_default() += e.amount;
            }

            #[on]
            #[cfg(feature = "audit")]
            fn closed(&mut self, _: &AccountClosed) -> Result<(), AuditError> {
                Ok(())
            }

            #[query]
            fn balance(&self, q: GetBalance) -> Option<u64> {
                self.by_stream.get(&q.stream).copied()
            }
        }
    };
    insta::assert_snapshot!(pretty(crate::projection::attribute(args, item)));
}

#[test]
fn process_manager_wire() {
    let args = quote!(name = "wire", services = WireSettings);
    let item = quote! {
        impl WireProcess {
            #[on(key = wire)]
            fn requested(&mut self, e: &WireRequested, settings: &WireSettings) -> Steps {
                Steps::new().deadline_in("confirmation_overdue", settings.timeout)
            }

            #[on(key = 0)]
            #[cfg(feature = "audit")]
            async fn audited(&mut self, e: &WireAudited, meta: &EventMeta) {}

            #[refused]
            fn withdrawal_refused(&mut self, cmd: &Withdraw, error: &BankError) -> Steps {
                Steps::new().done()
            }

            #[deadline]
            async fn confirmation_overdue(&mut self, settings: &WireSettings) -> Steps {
                Steps::new()
            }
        }
    };
    insta::assert_snapshot!(pretty(crate::process::attribute(args, item)));
}
