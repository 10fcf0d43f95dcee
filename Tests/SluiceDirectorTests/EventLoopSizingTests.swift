import SluiceListeners
import Testing

@Suite struct EventLoopSizingTests {
    @Test(arguments: [("0", 1), ("0-1", 2), ("0-3,6", 5), ("2,4-5,7", 4), ("0-63", 64)])
    func countsTheCPUsOfAKernelCPUList(list: String, count: Int) {
        #expect(EventLoopSizing.cpuCount(list) == count)
    }

    @Test(arguments: ["", "a", "3-1", "1-2-3", "0,,1x"])
    func refusesWhatIsNotACPUList(list: String) {
        #expect(EventLoopSizing.cpuCount(list) == nil)
    }
}
