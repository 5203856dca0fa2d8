//! The typed RPC layer (feature `postcard`): round trips with serde types, the wire bytes
//! of a typed request, empty answers, undecodable requests, oversize requests.
#![cfg(feature = "postcard")]

mod common;

use common::*;
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::typed::{Command, Typed, TypedError};
use esp_amp::rpc::{RpcClient, RpcError, RpcServer, Status};
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::{MainCore, SubCore};
use serde::{Deserialize, Serialize};

const CLIENT: u16 = 0x0001;
const SERVER: u16 = 0x1001;

fn pair(region: &Region) -> (Rpmsg<'_, MainCore>, Rpmsg<'_, SubCore>) {
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let main = Rpmsg::create(&mut sys, QueueSpec::new(8, 64).unwrap()).unwrap();
    let sub = Rpmsg::attach(&sys.info()).unwrap();
    (main, sub)
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Reading {
    sensor: u8,
    millivolts: u16,
    /// Fixed size: no allocation on either side.
    label: [u8; 4],
}

struct Read;
impl Command for Read {
    const ID: u16 = 0x30;
    type Request = u8;
    type Response = Reading;
}

struct Reset;
impl Command for Reset {
    const ID: u16 = 0x31;
    type Request = ();
    type Response = ();
}

struct Blob;
impl Command for Blob {
    const ID: u16 = 0x32;
    type Request = ([u8; 32], [u8; 16]);
    type Response = ();
}

#[test]
fn typed_round_trips() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let read = Typed::<Read, _>::new(|sensor: u8| match sensor {
        0..=3 => Ok(Reading { sensor, millivolts: 3300 - u16::from(sensor), label: *b"vbat" }),
        _ => Err(Status(0x0042)),
    });
    let reset = Typed::<Reset, _>::new(|()| Ok(()));
    let mut rq = [0u8; 48];
    let mut server: RpcServer<2> = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(Read::ID, &read).unwrap();
    server.add_service(Reset::ID, &reset).unwrap();
    let client: RpcClient<4> = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let mut a = client.call_typed::<Read, _, 32, 8>(&main, &2).unwrap();
    let mut b = client.call_typed::<Read, _, 32, 8>(&main, &9).unwrap();
    let mut c = client.call_typed::<Reset, _, 32, 8>(&main, &()).unwrap();
    assert_eq!(server.try_serve(&sub), 3);
    assert_eq!(a.try_response(&main), Some(Ok(Reading { sensor: 2, millivolts: 3298, label: *b"vbat" })));
    assert_eq!(b.try_response(&main), Some(Err(TypedError::Status(Status(0x0042)))));
    // `()` encodes to nothing; the answer is one zero byte, so it is still an answer.
    assert_eq!(c.try_response(&main), Some(Ok(())));
    assert_eq!(server.stats().one_way, 0);
}

#[test]
fn typed_request_bytes_are_postcard_after_the_rpc_header() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let raw = sub.create_endpoint(SERVER, Receiver::Mailbox).unwrap();
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let _call = client.call_typed::<Read, _, 32, 8>(&main, &200).unwrap();
    // postcard: a u8 is one raw byte.
    assert_eq!(sub.try_recv(raw).unwrap().bytes(), &[1, 0, 0x30, 0, 0xFC, 0xFF, 1, 0, 200]);
}

#[test]
fn undecodable_request_and_oversize_request() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let read = Typed::<Read, _>::new(|_: u8| Err(Status::EXEC_FAILED));
    let mut rq = [0u8; 48];
    let mut server: RpcServer<2> = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(Read::ID, &read).unwrap();
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    // A raw call with an empty body: a `u8` cannot decode from it.
    let mut raw = client.call(&main, Read::ID, &[]).unwrap();
    server.try_serve(&sub);
    let r = raw.try_response(&main).unwrap();
    assert_eq!(r.status(), Status::EXEC_FAILED);
    assert_eq!(r.bytes(), [0u8]);
    drop(r);
    // 48 bytes fit (max body 48); a 49th does not.
    assert!(client.call_typed::<Blob, _, 32, 8>(&main, &([7; 32], [7; 16])).is_ok());
    struct Big;
    impl Command for Big {
        const ID: u16 = 0x33;
        type Request = ([u8; 32], [u8; 16], u8);
        type Response = ();
    }
    let sent = client.stats().sent;
    assert_eq!(
        client.call_typed::<Big, _, 32, 8>(&main, &([0; 32], [0; 16], 1)).err(),
        Some(TypedError::TooLarge)
    );
    assert_eq!(client.stats().sent, sent, "nothing sent");
    // No buffer left (the server is not polling): the raw error comes through.
    let _calls: Vec<_> = (0..7).map(|_| client.call(&main, 0x99, b"").unwrap()).collect();
    assert_eq!(client.call_typed::<Read, _, 32, 8>(&main, &1).err(), Some(TypedError::Rpc(RpcError::NoMem)));
}
