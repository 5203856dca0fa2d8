//! Both cores as threads of one process: software interrupts both ways, blocking waits
//! with timeouts, async waits, line masking, and region re-opening.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use esp_amp::event::{DefaultEvents, Events, WaitFor, WaitTimeout};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::port::{InterruptLine, Platform};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{SysInfo, SysInfoAllocator};
use esp_amp::{MainCore, SubCore};
use esp_amp_host::{HostCore, HostRegion, Side};

fn c6() -> MemoryLayout {
    MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap()
}

/// Minimal executor: park the thread until woken.
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark()
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

fn wait_until(cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed().as_secs() < 10, "condition not reached");
        std::thread::yield_now();
    }
}

#[test]
fn sw_intr_both_ways_and_masking() {
    let region = HostRegion::create(&c6()).unwrap();
    let (mc, sc) = (HostCore::new(&region, Side::Main), HostCore::new(&region, Side::Sub));
    let _sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let main: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &mc).unwrap();
    let sub: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), &sc).unwrap();
    let (at_main, at_sub) = (AtomicU32::new(0), AtomicU32::new(0));
    let on_main = |id: SwIntrId| {
        at_main.fetch_add(1 << (8 * (id.get() as u32 - 4)), Ordering::SeqCst);
    };
    // The subcore echoes every id it gets, as in the C acceptance test (case 2).
    let on_sub = |id: SwIntrId| {
        at_sub.fetch_add(1, Ordering::SeqCst);
        sub.trigger(SwIntrId::new(id.get() + 4).unwrap());
    };
    for n in 0..4 {
        sub.add_handler(SwIntrId::user(n).unwrap(), &on_sub).unwrap();
        main.add_handler(SwIntrId::user(n + 4).unwrap(), &on_main).unwrap();
    }
    std::thread::scope(|s| {
        let _main_irq = mc.spawn_interrupts(s, || {
            main.isr();
        });
        let _sub_irq = sc.spawn_interrupts(s, || {
            sub.isr();
        });
        for round in 1..=16u32 {
            for n in 0..4 {
                main.trigger(SwIntrId::user(n).unwrap());
            }
            // Each of ids 4..=7 counts in its own byte of `at_main`.
            wait_until(|| at_main.load(Ordering::SeqCst) == round * 0x0101_0101);
        }
        assert_eq!(at_sub.load(Ordering::SeqCst), 64);
        // Masked line: the interrupt stays pending until enabled again.
        InterruptLine::disable(&sc);
        main.trigger(SwIntrId::user(0).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(50));
        // Not `delivered_count`: the delivery thread counts a delivery after its ISR
        // returns, so the last echo's count may still land after the echo was seen.
        assert_eq!(at_sub.load(Ordering::SeqCst), 64, "a masked interrupt ran its handler");
        assert_eq!(sub.pending(), 1);
        InterruptLine::enable(&sc);
        wait_until(|| at_sub.load(Ordering::SeqCst) == 65);
    });
}

#[test]
fn event_wait_all_any_timeout_and_async() {
    let region = HostRegion::create(&c6()).unwrap();
    let (mc, sc) = (HostCore::new(&region, Side::Main), HostCore::new(&region, Side::Sub));
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let main: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &mc).unwrap();
    DefaultEvents::create(&mut sys).unwrap();
    let info = SysInfo::attach(region.sys_info_pool(), None);
    let ev = DefaultEvents::attach(&info).unwrap();
    let sub: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), &sc).unwrap();
    let main_events: Events<'_, _> = Events::new(&main, &mc);
    let sub_events: Events<'_, _> = Events::new(&sub, &sc);
    sub.add_handler(SwIntrId::EVENT, &sub_events).unwrap();
    main.add_handler(SwIntrId::EVENT, &main_events).unwrap();
    std::thread::scope(|s| {
        let _main_irq = mc.spawn_interrupts(s, || {
            main.isr();
        });
        let _sub_irq = sc.spawn_interrupts(s, || {
            sub.isr();
        });
        // Timeout: strictly more than the timeout must pass; the observed bits come back.
        main_events.notify(&ev.main, 0b001);
        let t0 = sc.now_ms();
        let r = sub_events.wait_timeout(&ev.main, 0b011, WaitFor::All, true, Some(30));
        assert_eq!(r, Err(WaitTimeout { observed: 0b001 }));
        assert!(sc.now_ms().wrapping_sub(t0) > 30);
        main_events.notify(&ev.main, 0b010);
        assert_eq!(sub_events.wait_timeout(&ev.main, 0b010, WaitFor::Any, true, None), Ok(0b011));
        main_events.notify(&ev.main, 0b001);
        // Wait-all completes once the missing bit arrives from the other thread. u32::MAX
        // never times out (as in C) and must not overflow the deadline arithmetic.
        let waiter = s.spawn(|| sub_events.wait_timeout(&ev.main, 0b011, WaitFor::All, true, Some(u32::MAX)));
        std::thread::sleep(std::time::Duration::from_millis(20));
        main_events.notify(&ev.main, 0b010);
        assert_eq!(waiter.join().unwrap(), Ok(0b011));
        assert_eq!(ev.main.bits(), 0);
        // Wait-any without clearing leaves the bits.
        main_events.notify(&ev.main, 0b100);
        assert_eq!(sub_events.wait_timeout(&ev.main, 0b110, WaitFor::Any, false, Some(1000)), Ok(0b100));
        assert_eq!(ev.main.bits(), 0b100);
        assert_eq!(ev.main.clear(0b100), 0b100);
        // Async wait (subcore → maincore direction), woken by the event interrupt.
        let notifier = s.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            sub_events.notify(&ev.sub, 0x80);
        });
        let got = block_on(main_events.wait(&ev.sub, 0x80, WaitFor::Any, true));
        assert_eq!(got, 0x80);
        notifier.join().unwrap();
    });
}

#[test]
fn open_validates_the_control_page() {
    let dir = std::env::temp_dir().join(format!("esp-amp-host-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("region");
    let region = HostRegion::create_file(&path, &c6()).unwrap();
    region.shared().write_u32(0x4087_A5F0, 0x1234_5678).unwrap();
    let other = HostRegion::open(&path).unwrap();
    assert_eq!(other.layout(), region.layout());
    assert_eq!(other.shared().read_u32(0x4087_A5F0), Ok(0x1234_5678));
    // A truncated file or a wrong magic is refused.
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(5000).unwrap();
    assert!(HostRegion::open(&path).is_err());
    std::fs::write(&path, vec![0u8; 8192]).unwrap();
    assert!(HostRegion::open(&path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn default_layout_is_the_esp32c6_one() {
    let region = HostRegion::create(esp_amp_host::HostLayout::default()).unwrap();
    assert_eq!(region.shared().device_base(), 0x4087_A560);
    assert_eq!(region.sys_info_pool().device_base(), 0x4087_A580);
    assert_eq!(region.panic_dump().device_base(), 0x4087_E560);
    assert_eq!(region.rtc_pool().map(|p| (p.device_base(), p.len())), Some((0x5000_0F00, 256)));
    // The RTC pool works through the host region like the HP one.
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    sys.alloc(esp_amp::sys_info::SysInfoId::PM, 4, esp_amp::sys_info::Pool::Rtc).unwrap();
}

/// Delivery can be spawned again after an earlier scope stopped it (the demo's restart
/// does this); before the fix, the second loop returned at once and no interrupt arrived.
#[test]
fn interrupt_delivery_can_be_spawned_again() {
    let region = HostRegion::create(&c6()).unwrap();
    let main_core = HostCore::new(&region, Side::Main);
    let sub_core = HostCore::new(&region, Side::Sub);
    let _sys = SysInfoAllocator::init(region.sys_info_pool(), None).unwrap();
    let main_sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &main_core).unwrap();
    let sub_sw: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), &sub_core).unwrap();
    let hits = AtomicU32::new(0);
    let on_irq = |_id: SwIntrId| {
        hits.fetch_add(1, Ordering::SeqCst);
    };
    sub_sw.add_handler(SwIntrId::user(1).unwrap(), &on_irq).unwrap();
    for round in 1..=3 {
        std::thread::scope(|s| {
            let _irq = sub_core.spawn_interrupts(s, || {
                sub_sw.isr();
            });
            main_sw.trigger(SwIntrId::user(1).unwrap());
            wait_until(|| hits.load(Ordering::SeqCst) == round);
        });
        assert_eq!(hits.load(Ordering::SeqCst), round, "round {round}");
    }
}
