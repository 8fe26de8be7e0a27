//! Transfers to another bank: work that spans aggregates and time, as a process manager.
//!
//! A wire is its own aggregate ([`Wire`]): requested; sent once the money is withdrawn (or
//! failed when the account cannot pay); then confirmed by the other bank, or refunded when no
//! confirmation came in time. The [`WireProcess`] moves the money: it withdraws the amount and
//! marks the wire sent, waits for the confirmation with a deadline, and pays the account back
//! when the wire is refunded. The wire itself refuses a confirmation of a wire not sent or
//! already refunded, and a refund of a confirmed one, so a wire settles one way only.

use std::time::Duration;

use es_core::prelude::*;

use crate::{BankError, Deposit, Withdraw};

/// A wire to another bank was requested.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireRequested {
    /// The wire's id.
    pub wire: String,
    /// The account paying.
    pub from: String,
    /// The other bank and account, as one reference.
    pub to: String,
    /// In cents.
    pub amount: u64,
}

/// The money was withdrawn and sent: waiting for the other bank.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireSent {
    /// The wire's id.
    pub wire: String,
}

/// The other bank confirmed the wire: the money has left.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireConfirmed {
    /// The wire's id.
    pub wire: String,
}

/// No confirmation came in time: the money goes back to the account.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireRefunded {
    /// The wire's id.
    pub wire: String,
    /// The account refunded.
    pub from: String,
    /// In cents.
    pub amount: u64,
}

/// The account could not pay: nothing moved.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireFailed {
    /// The wire's id.
    pub wire: String,
    /// Why.
    pub reason: String,
}

/// Requests a wire of `amount` cents from `from` to another bank's account `to`.
#[derive(Command, Debug, Clone)]
pub struct RequestWire {
    /// The wire's id.
    #[id]
    pub wire: String,
    /// The account paying.
    pub from: String,
    /// The other bank and account.
    pub to: String,
    /// In cents; must be positive.
    pub amount: u64,
}

/// Records that the money was withdrawn and sent.
#[derive(Command, Debug, Clone)]
pub struct MarkWireSent {
    /// The wire's id.
    #[id]
    pub wire: String,
}

/// The other bank confirms the wire.
#[derive(Command, Debug, Clone)]
pub struct ConfirmWire {
    /// The wire's id.
    #[id]
    pub wire: String,
}

/// Gives up on the wire after its deadline: refused once it is confirmed.
#[derive(Command, Debug, Clone)]
pub struct RefundWire {
    /// The wire's id.
    #[id]
    pub wire: String,
}

/// Records that the account could not pay.
#[derive(Command, Debug, Clone)]
pub struct FailWire {
    /// The wire's id.
    #[id]
    pub wire: String,
    /// Why.
    pub reason: String,
}

/// Where a wire stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireStatus {
    /// Not requested.
    #[default]
    None,
    /// Requested: the money is about to be withdrawn.
    Requested,
    /// Sent: waiting for the other bank.
    Sent,
    /// The money has left.
    Confirmed,
    /// The money went back to the account.
    Refunded,
    /// Nothing moved.
    Failed,
}

/// A wire to another bank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wire {
    /// Where it stands.
    pub status: WireStatus,
    /// The account paying.
    pub from: String,
    /// In cents.
    pub amount: u64,
}

#[aggregate(name = "wire", error = BankError)]
impl Wire {
    #[handle]
    fn request(&self, cmd: RequestWire) -> Result<WireRequested, BankError> {
        if self.status != WireStatus::None {
            return Err(BankError::WireSettled);
        }
        if cmd.amount == 0 {
            return Err(BankError::ZeroAmount);
        }
        if cmd.from.is_empty() {
            return Err(BankError::EmptyAccountId);
        }
        Ok(WireRequested {
            wire: cmd.wire,
            from: cmd.from,
            to: cmd.to,
            amount: cmd.amount,
        })
    }

    #[handle]
    fn mark_sent(&self, cmd: MarkWireSent) -> Result<WireSent, BankError> {
        self.expect(WireStatus::Requested)?;
        Ok(WireSent { wire: cmd.wire })
    }

    #[handle]
    fn confirm(&self, cmd: ConfirmWire) -> Result<WireConfirmed, BankError> {
        self.expect(WireStatus::Sent)?;
        Ok(WireConfirmed { wire: cmd.wire })
    }

    #[handle]
    fn refund(&self, cmd: RefundWire) -> Result<WireRefunded, BankError> {
        self.expect(WireStatus::Sent)?;
        Ok(WireRefunded {
            wire: cmd.wire,
            from: self.from.clone(),
            amount: self.amount,
        })
    }

    #[handle]
    fn fail(&self, cmd: FailWire) -> Result<WireFailed, BankError> {
        self.expect(WireStatus::Requested)?;
        Ok(WireFailed {
            wire: cmd.wire,
            reason: cmd.reason,
        })
    }

    #[apply]
    fn requested(&mut self, event: &WireRequested) {
        self.status = WireStatus::Requested;
        self.from.clone_from(&event.from);
        self.amount = event.amount;
    }

    #[apply]
    fn sent(&mut self, _event: &WireSent) {
        self.status = WireStatus::Sent;
    }

    #[apply]
    fn confirmed(&mut self, _event: &WireConfirmed) {
        self.status = WireStatus::Confirmed;
    }

    #[apply]
    fn refunded(&mut self, _event: &WireRefunded) {
        self.status = WireStatus::Refunded;
    }

    #[apply]
    fn failed(&mut self, _event: &WireFailed) {
        self.status = WireStatus::Failed;
    }

    fn expect(&self, status: WireStatus) -> Result<(), BankError> {
        match self.status {
            current if current == status => Ok(()),
            WireStatus::None => Err(BankError::NoSuchWire),
            WireStatus::Requested => Err(BankError::WireNotSent),
            _ => Err(BankError::WireSettled),
        }
    }
}

/// How long the other bank has to confirm a wire.
#[derive(Debug, Clone, Copy)]
pub struct WireSettings {
    /// The time from the request to the refund.
    pub confirmation_timeout: Duration,
}

impl Default for WireSettings {
    fn default() -> Self {
        Self {
            confirmation_timeout: Duration::from_secs(60),
        }
    }
}

/// The process of one wire: withdraw and send, wait for the confirmation, refund on the
/// deadline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireProcess {
    /// The wire's id.
    pub wire: String,
    /// The account paying.
    pub from: String,
    /// In cents.
    pub amount: u64,
    /// Whether the amount was withdrawn (a refund gives it back only then).
    pub withdrawn: bool,
    /// Set when the refund could not be paid in (the account was closed meanwhile): the money
    /// waits for someone to settle it by hand.
    pub stranded: Option<String>,
}

#[process_manager(name = "wire", services = WireSettings)]
impl WireProcess {
    /// Withdraws, then marks the wire sent; a refused withdrawal stops there (the wire fails).
    #[on(key = wire)]
    fn requested(&mut self, event: &WireRequested) -> Steps {
        self.wire.clone_from(&event.wire);
        self.from.clone_from(&event.from);
        self.amount = event.amount;
        self.withdrawn = true;
        Steps::new()
            .send(Withdraw {
                account: event.from.clone(),
                amount: event.amount,
            })
            .send(MarkWireSent {
                wire: event.wire.clone(),
            })
    }

    #[refused]
    fn withdrawal_refused(&mut self, _cmd: &Withdraw, error: &BankError) -> Steps {
        self.withdrawn = false;
        Steps::new().send(FailWire {
            wire: self.wire.clone(),
            reason: error.to_string(),
        })
    }

    #[on(key = wire)]
    fn sent(&mut self, _event: &WireSent, settings: &WireSettings) -> Steps {
        Steps::new().deadline_in("confirmation_overdue", settings.confirmation_timeout)
    }

    /// The other bank confirmed first: its confirmation closes the wire.
    #[refused]
    fn refund_refused(&mut self, _cmd: &RefundWire, _error: &BankError) {}

    #[refused]
    fn refund_not_paid(&mut self, _cmd: &Deposit, error: &BankError) -> Steps {
        self.stranded = Some(error.to_string());
        Steps::new().done()
    }

    #[deadline]
    fn confirmation_overdue(&mut self) -> Steps {
        Steps::new().send(RefundWire {
            wire: self.wire.clone(),
        })
    }

    #[on(key = wire)]
    fn confirmed(&mut self, _event: &WireConfirmed) -> Steps {
        Steps::new().cancel_deadline("confirmation_overdue").done()
    }

    #[on(key = wire)]
    fn refunded(&mut self, event: &WireRefunded) -> Steps {
        if !self.withdrawn {
            return Steps::new().done();
        }
        Steps::new()
            .send(Deposit {
                account: event.from.clone(),
                amount: event.amount,
            })
            .done()
    }

    #[on(key = wire)]
    fn failed(&mut self, _event: &WireFailed) -> Steps {
        Steps::new().done()
    }
}
