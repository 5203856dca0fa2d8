//! Typed commands (feature `postcard`): a command id bound to a request and a response
//! type, encoded with [postcard](https://docs.rs/postcard) straight into the message
//! buffer (no allocation, no copy) and decoded straight out of it, through the volatile
//! views of [`crate::payload`]. A response's strings and byte strings are copied out of
//! shared memory through a stack buffer of [`BORROWED_MAX`] bytes (they must not be read
//! in place: the peer could change them under the decoder); a response whose strings and
//! byte strings total more fails with [`TypedError::Decode`] (use the raw API,
//! [`Response::bytes`], for bulk data). Requests are decoded from the server's private
//! copy and have no such limit. The raw byte API stays underneath: a typed client can call
//! a raw server and the reverse, as long as both agree on the encoding.
//!
//! ```
//! # use esp_amp::queue::QueueSpec;
//! # use esp_amp::rpmsg::Rpmsg;
//! # use esp_amp::shm::Shm;
//! # use esp_amp::sys_info::SysInfoAllocator;
//! # use esp_amp::{MainCore, SubCore};
//! use esp_amp::rpc::typed::{Command, Typed, TypedError};
//! use esp_amp::rpc::{RpcClient, RpcServer, Status};
//! # let mut mem = [0u32; 512];
//! # // SAFETY: `mem` is aligned, valid and outlives `pool`.
//! # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 2048) };
//! # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
//! # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 64).unwrap()).unwrap();
//! # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
//!
//! /// Divides two numbers.
//! struct Div;
//! impl Command for Div {
//!     const ID: u16 = 0x20;
//!     type Request = (i32, i32);
//!     type Response = i32;
//! }
//!
//! let div = Typed::<Div, _>::new(|(a, b): (i32, i32)| a.checked_div(b).ok_or(Status::EXEC_FAILED));
//! let mut rq = [0u8; 32];
//! let mut server: RpcServer<2> = RpcServer::new(&sub, 1, &mut rq).unwrap();
//! server.add_service(Div::ID, &div).unwrap();
//!
//! let client: RpcClient<2> = RpcClient::new(&main, 0, 1).unwrap();
//! let mut ok = client.call_typed::<Div, _, 32, 8>(&main, &(84, 2)).unwrap();
//! let mut bad = client.call_typed::<Div, _, 32, 8>(&main, &(1, 0)).unwrap();
//! server.try_serve(&sub);
//! assert_eq!(ok.try_response(&main), Some(Ok(42)));
//! assert_eq!(bad.try_response(&main), Some(Err(TypedError::Status(Status::EXEC_FAILED))));
//! ```

use core::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::server::{Handler, Reply, Request};
use super::{Call, Response, RpcClient, RpcError, Status};
use crate::payload::{PeerBytes, PeerBytesMut};
use crate::port::Platform;
use crate::role::Role;
use crate::rpmsg::Rpmsg;

/// Bytes of strings and byte strings a typed response may hold in all (see the module
/// docs): the size of the stack buffer they are copied into while decoding.
pub const BORROWED_MAX: usize = 64;

/// postcard output straight into a message buffer.
struct ViewWriter<'a> {
    view: PeerBytesMut<'a>,
    pos: usize,
}

impl postcard::ser_flavors::Flavor for ViewWriter<'_> {
    type Output = usize;

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        if !self.view.set(self.pos, data) {
            return Err(postcard::Error::SerializeBufferFull);
        }
        self.pos += 1;
        Ok(())
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.view.write(self.pos, data).map_err(|_| postcard::Error::SerializeBufferFull)?;
        self.pos += data.len();
        Ok(())
    }

    fn finalize(self) -> postcard::Result<usize> {
        Ok(self.pos)
    }
}

/// Encodes `value` at the start of `view`; the length, or `None` if it does not fit.
fn encode<T: Serialize + ?Sized>(value: &T, view: PeerBytesMut<'_>) -> Option<usize> {
    postcard::serialize_with_flavor(value, ViewWriter { view, pos: 0 }).ok()
}

/// postcard input read straight out of a message buffer: each byte is loaded once
/// (volatile); runs the decoder needs as slices are copied into `scratch` (or `temp`) first.
struct ViewReader<'de> {
    src: PeerBytes<'de>,
    pos: usize,
    scratch: &'de mut [u8],
    temp: [u8; 8],
}

impl ViewReader<'_> {
    /// Copies the next `n` bytes into `dst` (`dst.len() == n`) and moves on.
    fn copy_next(&mut self, dst: &mut [u8]) -> postcard::Result<()> {
        let run = self
            .src
            .slice(self.pos..self.pos + dst.len())
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        run.copy_to(dst);
        self.pos += dst.len();
        Ok(())
    }
}

impl<'de> postcard::de_flavors::Flavor<'de> for ViewReader<'de> {
    type Remainder = ();
    type Source = ();

    fn pop(&mut self) -> postcard::Result<u8> {
        let b = self.src.get(self.pos).ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        self.pos += 1;
        Ok(b)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.src.len().saturating_sub(self.pos))
    }

    fn try_take_n(&mut self, ct: usize) -> postcard::Result<&'de [u8]> {
        if ct > self.scratch.len() {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        let (run, rest) = core::mem::take(&mut self.scratch).split_at_mut(ct);
        self.scratch = rest;
        self.copy_next(run)?;
        Ok(run)
    }

    fn try_take_n_temp<'a>(&'a mut self, ct: usize) -> postcard::Result<&'a [u8]>
    where
        'de: 'a,
    {
        if ct > self.temp.len() {
            return self.try_take_n(ct);
        }
        // `src` is a copy of the view, so the run borrows nothing of `self`.
        let run = self.src.slice(self.pos..self.pos + ct).ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
        let temp = &mut self.temp[..ct];
        run.copy_to(temp);
        self.pos += ct;
        Ok(temp)
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Decodes a `T` from the start of `src` (trailing bytes are ignored, as
/// `postcard::from_bytes` does).
fn decode_view<T: DeserializeOwned>(src: PeerBytes<'_>) -> postcard::Result<T> {
    let mut scratch = [0u8; BORROWED_MAX];
    let reader = ViewReader { src, pos: 0, scratch: &mut scratch, temp: [0; 8] };
    T::deserialize(&mut postcard::Deserializer::from_flavor(reader))
}

/// A command: its id and the types of its request and response.
pub trait Command {
    /// The `cmd_id` on the wire.
    const ID: u16;
    /// What the client sends.
    type Request: Serialize + DeserializeOwned;
    /// What the server answers with [`Status::OK`].
    type Response: Serialize + DeserializeOwned;
}

/// Why a typed call gave no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TypedError {
    /// The call itself failed (no buffer, timeout, …).
    Rpc(RpcError),
    /// The request does not encode into one message.
    TooLarge,
    /// The server answered with a status other than [`Status::OK`].
    Status(Status),
    /// The response does not decode as the command's response type.
    Decode,
}

impl From<RpcError> for TypedError {
    fn from(e: RpcError) -> Self {
        TypedError::Rpc(e)
    }
}

impl core::fmt::Display for TypedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TypedError::Rpc(e) => write!(f, "{e}"),
            TypedError::TooLarge => f.write_str("the request does not encode into one message"),
            TypedError::Status(s) => write!(f, "the server answered status {:#06x}", s.0),
            TypedError::Decode => f.write_str("the response does not decode"),
        }
    }
}

impl core::error::Error for TypedError {}

impl<'h, const SLOTS: usize> RpcClient<'h, SLOTS> {
    /// Sends command `C` with `req` encoded in place; [`TypedCall`] decodes the answer.
    /// [`TypedError::TooLarge`] (nothing sent) when it does not fit one message.
    pub fn call_typed<C: Command, R: Role, const CAP: usize, const E: usize>(
        &self,
        dev: &Rpmsg<'_, R, CAP, E>,
        req: &C::Request,
    ) -> Result<TypedCall<'_, 'h, SLOTS, C>, TypedError> {
        let sent = self.start_with(dev, C::ID, Some(None), |body| encode(req, body))?;
        let (slot, msg_id) = sent.ok_or(TypedError::TooLarge)?;
        let call = Call { client: self, slot: slot.unwrap_or(0), msg_id, done: false };
        Ok(TypedCall { call, _command: PhantomData })
    }

    /// [`RpcClient::call_typed`] that waits while no call slot or RPMsg buffer is free, as
    /// [`RpcClient::call_async`] does (the next interrupt on `signal` or `repoll()`,
    /// whichever first). Other errors return at once.
    pub async fn call_typed_async<C: Command, R: Role, const CAP: usize, const E: usize, const W: usize, F>(
        &self,
        dev: &Rpmsg<'_, R, CAP, E>,
        req: &C::Request,
        signal: &crate::signal::IrqSignal<W>,
        mut repoll: impl FnMut() -> F,
    ) -> Result<TypedCall<'_, 'h, SLOTS, C>, TypedError>
    where
        F: core::future::Future<Output = ()>,
    {
        loop {
            match self.call_typed::<C, R, CAP, E>(dev, req) {
                Err(TypedError::Rpc(RpcError::NoMem)) => crate::signal::interrupt_or(signal, repoll()).await,
                other => return other,
            }
        }
    }
}

/// A typed request in flight; dropping it cancels it, as for [`Call`].
pub struct TypedCall<'c, 'h, const SLOTS: usize, C: Command> {
    call: Call<'c, 'h, SLOTS>,
    _command: PhantomData<fn() -> C>,
}

impl<'c, 'h, const SLOTS: usize, C: Command> TypedCall<'c, 'h, SLOTS, C> {
    /// The request's `msg_id`.
    pub fn msg_id(&self) -> u16 {
        self.call.msg_id()
    }

    /// The decoded answer, if it has arrived (see [`Call::try_response`]).
    pub fn try_response<R: Role, const CAP: usize, const E: usize>(
        &mut self,
        dev: &Rpmsg<'_, R, CAP, E>,
    ) -> Option<Result<C::Response, TypedError>> {
        self.call.try_response(dev).map(|r| decode::<C, CAP>(&r))
    }

    /// Waits up to `timeout_ms` for the answer (see [`Call::response_timeout`]).
    pub fn response_timeout<R: Role, P: Platform, const CAP: usize, const E: usize>(
        self,
        dev: &Rpmsg<'_, R, CAP, E>,
        platform: &P,
        timeout_ms: Option<u32>,
    ) -> Result<C::Response, TypedError> {
        decode::<C, CAP>(&self.call.response_timeout(dev, platform, timeout_ms)?)
    }

    /// Waits asynchronously for the answer (see [`Call::response`]); dropping the future
    /// cancels the call and frees its slot.
    pub async fn response<R: Role, const CAP: usize, const E: usize, const W: usize>(
        self,
        dev: &Rpmsg<'_, R, CAP, E>,
        signal: &crate::signal::IrqSignal<W>,
    ) -> Result<C::Response, TypedError> {
        decode::<C, CAP>(&self.call.response(dev, signal).await?)
    }
}

/// The value of an OK response, or why there is none.
fn decode<C: Command, const CAP: usize>(resp: &Response<'_, '_, CAP>) -> Result<C::Response, TypedError> {
    match resp.status() {
        Status::OK => decode_view(resp.bytes()).map_err(|_| TypedError::Decode),
        s => Err(TypedError::Status(s)),
    }
}

/// A typed service: decodes the request, runs `f`, encodes its answer. A request that does
/// not decode, or an answer that does not fit, is answered [`Status::EXEC_FAILED`]; `f`'s
/// own `Err(status)` is answered with that status. Every answer has at least one byte (an
/// empty encoding, such as `()`, is sent as one zero byte, which decodes the same), since a
/// zero length would mean "no response".
pub struct Typed<C, F> {
    f: F,
    _command: PhantomData<fn() -> C>,
}

impl<C, F> Typed<C, F>
where
    C: Command,
    F: Fn(C::Request) -> Result<C::Response, Status> + Sync,
{
    /// Wraps `f` as the handler of command `C` (register it under [`Command::ID`]).
    pub fn new(f: F) -> Self {
        Typed { f, _command: PhantomData }
    }
}

impl<C, F> Handler for Typed<C, F>
where
    C: Command,
    F: Fn(C::Request) -> Result<C::Response, Status> + Sync,
{
    fn handle(&self, req: &Request<'_>, mut resp: PeerBytesMut<'_>) -> Reply {
        // The request is the server's private copy: decoded in place.
        let answer =
            postcard::from_bytes::<C::Request>(req.data()).map_err(|_| Status::EXEC_FAILED).and_then(&self.f);
        let (status, len) = match answer {
            Ok(value) => match resp.slice_mut(..).and_then(|view| encode(&value, view)) {
                Some(n) => (Status::OK, n),
                None => (Status::EXEC_FAILED, 0),
            },
            Err(status) => (status, 0),
        };
        if len == 0 {
            // The server never lends an empty buffer (its body limit is at least 1).
            resp.set(0, 0);
        }
        Reply::new(status, len.max(1))
    }
}
