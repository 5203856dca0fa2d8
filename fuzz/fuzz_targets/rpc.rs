#![no_main]
//! RPC packets from a hostile peer, both ways. The harness builds an RPMsg device with an
//! RPC server on the subcore (a raw and a typed service) and a client on the maincore;
//! the input mixes legitimate calls with raw packets either side may forge (requests to
//! the server, responses to the client with guessed ids) and bytes rewritten in the
//! region. Nothing panics; a response body never exceeds what one message can carry.

use esp_amp::payload::PeerBytesMut;
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::typed::{Command, Typed};
use esp_amp::rpc::{max_body, Call, PacketHeader, Reply, Request, RpcClient, RpcServer, Status};
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::{MainCore, SubCore};
use esp_amp_fuzz::{peer_write, Input, Region};
use libfuzzer_sys::fuzz_target;

const SERVER: u16 = 1;
const CLIENT: u16 = 2;
const RAW: u16 = 3;
const ADD: u16 = 0x10;

struct Div;
impl Command for Div {
    const ID: u16 = 0x20;
    type Request = (i32, i32);
    type Response = i32;
}

fn add(req: &Request<'_>, mut resp: PeerBytesMut<'_>) -> Reply {
    match *req.data() {
        [a0, a1, b0, b1] => {
            let sum = u16::from_le_bytes([a0, a1]).wrapping_add(u16::from_le_bytes([b0, b1]));
            if resp.write(0, &sum.to_le_bytes()).is_err() {
                return Reply::new(Status::EXEC_FAILED, 0);
            }
            Reply::ok(2)
        }
        _ => Reply::new(Status::EXEC_FAILED, 1),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let region = Region::default();
    let mut sys = SysInfoAllocator::init(region.pool(), None).unwrap();
    let main: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(8, 64).unwrap()).unwrap();
    let sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&sys.info()).unwrap();
    let div = Typed::<Div, _>::new(|(a, b): (i32, i32)| a.checked_div(b).ok_or(Status::EXEC_FAILED));
    let mut rq = [0u8; 48];
    let mut server: RpcServer<'_, 4> = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ADD, &add).unwrap();
    server.add_service(Div::ID, &div).unwrap();
    let client: RpcClient<'_, 4> = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let raw_main = main.create_endpoint(RAW, Receiver::Mailbox).unwrap();
    let raw_sub = sub.create_endpoint(RAW, Receiver::Mailbox).unwrap();
    let limit = max_body(64);
    let mut calls: Vec<Call<'_, '_, 4>> = Vec::new();
    for _ in 0..256 {
        if input.is_empty() {
            break;
        }
        match input.u8() % 9 {
            0 => peer_write(&region, &mut input),
            1 => {
                // A forged request to the server.
                let n = usize::from(input.u8() % 64);
                let _ = main.send(raw_main, SERVER, input.bytes(n));
            }
            2 => {
                let n = usize::from(input.u8() % 8);
                let req = input.bytes(n);
                if let Ok(call) = client.call(&main, ADD, req) {
                    calls.push(call);
                }
                let (a, b) = (i32::from(input.u16() as i16), i32::from(input.u8() as i8));
                let _ = client.call_typed::<Div, _, 32, 8>(&main, &(a, b));
            }
            3 => {
                let _ = server.try_serve(&sub);
            }
            4 => {
                // A forged response to the client, with a guessed id.
                let head = PacketHeader {
                    msg_id: input.u16(),
                    cmd_id: ADD,
                    status: Status(input.u16()),
                    msg_len: u16::from(input.u8()),
                };
                let mut pkt = head.to_bytes().to_vec();
                let n = usize::from(input.u8() % 56);
                pkt.extend_from_slice(input.bytes(n));
                let _ = sub.send(raw_sub, CLIENT, &pkt);
            }
            5 => {
                for call in calls.iter_mut() {
                    if let Some(r) = call.try_response(&main) {
                        assert!(r.len() <= limit);
                    }
                }
            }
            6 => {
                if !calls.is_empty() {
                    let i = usize::from(input.u8()) % calls.len();
                    drop(calls.swap_remove(i));
                }
            }
            7 => {
                let _ = client.dispatch(&main);
                while main.try_recv(raw_main).is_some() {}
                while sub.try_recv(raw_sub).is_some() {}
            }
            _ => {
                let n = usize::from(input.u8());
                if let Ok((head, body)) = PacketHeader::parse(input.bytes(n)) {
                    assert_eq!(body.len(), usize::from(head.msg_len));
                }
            }
        }
    }
});
